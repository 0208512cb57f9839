package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.cli.LorabeamCli;
import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.shards.ShardManifest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * One data path (issue 12.1/12.2): {@code train} on JSONL makes exactly the shards {@code
 * preprocess} makes, reuses them when nothing changed, and {@code train --data SHARDS} takes
 * mask-prompt and distrust from the manifest, refusing a flag that contradicts it.
 */
public class TrainBlocksTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static Path model;
  private static Path data;

  @BeforeClass
  public static void makeModelAndData() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    data = TMP.newFolder("data").toPath();
    List<String> rows = TrainJobTest.sampleRows(48);
    List<String> annotated = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      String body = rows.get(i).substring(0, rows.get(i).length() - 1);
      annotated.add(body + String.format(",\"auth_weight\":%.2f,\"prov_entropy\":%.1f}",
          (i % 10) / 10.0, (i % 7) * 1.0));
    }
    Files.write(data.resolve("train.jsonl"), annotated.subList(0, 40));
    Files.write(data.resolve("valid.jsonl"), annotated.subList(40, 48));
  }

  private static TrainConfigBuilder tiny(Path adapters, String dataArg) {
    return TrainConfig.builder(model.toString(), dataArg).adapterPath(adapters.toString())
        .maxMemoryGb(4.0).trainSeqLength(64).batchSize(2).loraRank(4).loraLayers(-1)
        .stepsPerEval(0).valBatches(1).saveEvery(100).maxGradNorm(0).seed(11);
  }

  private static String run(TrainConfig config) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TrainJob.run(config, new String[0], new PrintStream(bytes, true, StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  public void trainMakesThePreprocessShardsByteForByteAndReusesThem() throws IOException {
    Path out = TMP.newFolder("train").toPath();
    run(tiny(out, data.toString()).maxSteps(1).build());
    Path trainBlocks = out.resolve(BlockSource.BLOCKS_DIR);
    String date = ShardManifest.read(trainBlocks).settings().templateDate();

    Path shards = TMP.newFolder("pre").toPath();
    assertEquals(0, LorabeamCli.execute("preprocess", "--data", data.toString(), "--model",
        model.toString(), "--train-seq-length", "64", "--seed", "11", "--template-date", date,
        "--output", shards.toString()));
    assertSameShards(shards, trainBlocks);
    assertSameShards(shards.resolve("valid"), trainBlocks.resolve("valid"));
    assertEquals(ShardManifest.read(shards).blockSetFingerprint(),
        ShardManifest.read(trainBlocks).blockSetFingerprint());

    String again = run(tiny(out, data.toString()).maxSteps(1).build());
    assertTrue(again, again.contains("Reusing the blocks in " + trainBlocks));
    String original = Files.readString(data.resolve("train.jsonl"));
    Files.writeString(data.resolve("train.jsonl"), original.replaceFirst("the", "The"));
    try {
      String rerun = run(tiny(out, data.toString()).maxSteps(1).build());
      assertTrue("a changed file is prepared again: " + rerun, !rerun.contains("Reusing"));
    } finally {
      Files.writeString(data.resolve("train.jsonl"), original);
    }
  }

  private static void assertSameShards(Path expected, Path actual) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(expected)) {
      files = s.filter(p -> p.getFileName().toString().startsWith("shard-")).sorted().toList();
    }
    assertTrue("shards in " + expected, !files.isEmpty());
    for (Path f : files) {
      assertArrayEquals(f.getFileName() + " differs", Files.readAllBytes(f),
          Files.readAllBytes(actual.resolve(f.getFileName())));
    }
  }

  @Test
  public void shardsDecideDistrustAndMaskPromptAndAContradictingFlagIsRefused() throws IOException {
    Path shards = TMP.newFolder("additive").toPath();
    assertEquals(0, LorabeamCli.execute("preprocess", "--data", data.toString(), "--model",
        model.toString(), "--train-seq-length", "64", "--distrust", "additive", "--output",
        shards.toString()));
    ShardManifest m = ShardManifest.read(shards);
    assertEquals("additive", m.settings().distrust());
    assertTrue("mean L_emp recorded", m.settings().meanLemp() > 0);

    // No --distrust flag: the manifest's additive mode and mean L_emp are used, not dropped.
    Path out = TMP.newFolder("from-additive").toPath();
    run(tiny(out, shards.toString()).maxSteps(2).lambdaWeight(0.5).build());
    List<StepMetrics> metrics = MetricsWriter.readAll(out.resolve("metrics.jsonl"));
    assertEquals(0.5 * m.settings().meanLemp(), metrics.get(0).distrust(), 1e-9);

    UserError mask = assertThrows(UserError.class, () -> run(
        tiny(TMP.newFolder("mask").toPath(), shards.toString()).maskPrompt(true).maxSteps(1).build()));
    assertTrue(mask.getMessage(), mask.getMessage().startsWith("--mask-prompt on contradicts the shards in")
        && mask.getMessage().contains("mask_prompt off"));
    UserError distrust = assertThrows(UserError.class, () -> run(tiny(TMP.newFolder("w").toPath(),
        shards.toString()).distrust("weighted").maxSteps(1).build()));
    assertTrue(distrust.getMessage(), distrust.getMessage().contains("--distrust weighted")
        && distrust.getMessage().contains("distrust additive"));
  }
}

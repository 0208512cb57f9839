package dev.lorabeam.transforms;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.jobs.PreprocessJob;
import dev.lorabeam.transforms.pack.BlockPacker;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.render.TokenizedDoc;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptions;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Same data + same options = byte-identical shards, whatever order the elements arrive in and
 * whatever the parallelism (regression: packing and shard order used to follow arrival order).
 */
public class PrepareBlocksDeterminismTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void packingIgnoresTheOrderDocumentsArriveIn() {
    List<TokenizedDoc> docs = BlockChecks.docs(400, 200, 9);
    // Two files of the same name in different directories: equal hashes, tie broken by path.
    docs.replaceAll(d -> new TokenizedDoc(d.tokens(), d.weights(),
        (d.line() % 2 == 0 ? "/a/" : "/b/") + "train.jsonl", d.line() / 2));
    for (boolean fill : new boolean[] {false, true}) {
      List<PackedBlock> first = pack(docs, fill);
      List<TokenizedDoc> shuffled = new ArrayList<>(docs);
      Collections.shuffle(shuffled, new Random(4));
      assertEquals("fill-gaps " + fill, first, pack(shuffled, fill));
    }
  }

  private static List<PackedBlock> pack(List<TokenizedDoc> docs, boolean fill) {
    List<PackedBlock> out = new ArrayList<>();
    new BlockPacker(64, BlockPacker.LongDocPolicy.SPLIT, 3, 0, fill).pack(docs, out::add);
    return out;
  }

  @Test
  public void directRunnerGivesTheSameBytesForAnyInputOrderAndParallelism() throws Exception {
    Path data = tmp.newFolder("data").toPath();
    List<String> lines = Files.readAllLines(TestFiles.data("sample/train.jsonl"));
    Files.write(data.resolve("a.jsonl"), lines.subList(0, 150));
    Files.write(data.resolve("b.jsonl"), lines.subList(150, 300));
    BlockOptions options = BlockOptions.of(new GgufTokenizer(TestFiles.demoGguf()), 128)
        .withSeed(5).withTemplateDate("2026-12-01");
    String one = tmp.newFolder("one").toString();
    String two = tmp.newFolder("two").toString();
    PreprocessJob.runSplit("train", List.of(data.resolve("a.jsonl").toString(),
        data.resolve("b.jsonl").toString()), options, one, 3, 0, direct(1));
    PreprocessJob.runSplit("train", List.of(data.resolve("b.jsonl").toString(),
        data.resolve("a.jsonl").toString()), options, two, 3, 0, direct(4));
    List<Path> shards = shards(Path.of(one));
    assertEquals(3, shards.size());
    for (Path s : shards) {
      assertArrayEquals(s.getFileName().toString(), Files.readAllBytes(s),
          Files.readAllBytes(Path.of(two).resolve(s.getFileName())));
    }
    ShardManifest a = ShardManifest.read(one);
    ShardManifest b = ShardManifest.read(two);
    assertEquals(a.blockSetFingerprint(), b.blockSetFingerprint());
    assertEquals(300, a.counts().rows());
    assertEquals(2, a.sources().size());
    assertTrue(a.blocks() > 10);
  }

  private static PipelineOptions direct(int parallelism) {
    return PreprocessJob.defaultOptions("--targetParallelism=" + parallelism);
  }

  static List<Path> shards(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith("shard-")).sorted().toList();
    }
  }
}

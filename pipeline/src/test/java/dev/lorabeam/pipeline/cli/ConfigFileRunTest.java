package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.pipeline.train.TinyLlama;
import dev.lorabeam.pipeline.train.TrainConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import picocli.CommandLine;

/**
 * {@code train -c}, {@code evaluate -c} and {@code fuse -c} for real (the engine, a tiny random
 * Llama, real files): the file's values reach the checkpoint manifest, and a file gives the same
 * result as the same flags on the command line.
 */
public class ConfigFileRunTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path model;
  private static Path data;

  @BeforeClass
  public static void makeModelAndData() throws IOException {
    model = TinyLlama.write(TMP.newFolder("tiny-llama").toPath(), 3);
    data = TMP.newFolder("data").toPath();
    List<String> rows = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      rows.add(JSON.writeValueAsString(java.util.Map.of("text",
          "Row " + i + ": config files keep long runs repeatable, and flags still override them " + i * 7)));
    }
    Files.write(data.resolve("train.jsonl"), rows.subList(0, 16));
    Files.write(data.resolve("valid.jsonl"), rows.subList(16, 24));
    Files.write(data.resolve("test.jsonl"), rows.subList(0, 3));  // evaluate's default split: split: valid must win
  }

  @Test
  public void aValueFromTheFileIsRecordedInTheCheckpointManifest() throws IOException {
    Path out = TMP.getRoot().toPath().resolve("from-yaml");
    Path file = write("train.yaml", String.join("\n",
        "model: " + model,
        "data: " + data,
        "adapter_path: " + out,
        "max_memory: 4",
        "train_seq_length: 64",
        "batch_size: 2",
        "num_layers: -1",
        "lora_parameters: {rank: 4, scale: 7.5, keys: [q, v]}",
        "learning_rate: 0.000123",
        "max_steps: 2",
        "save_every: 2",
        "steps_per_eval: 0",
        "val_batches: 1",
        "seed: 5",
        ""));
    Run run = execute("train", "-c", file.toString(), "--seed", "6");
    assertEquals(run.err, 0, run.code);
    JsonNode manifest = JSON.readTree(out.resolve("checkpoints/step-000002/manifest.json").toFile());
    TrainConfig recorded = TrainConfig.fromJson(manifest.get("config").toString());
    assertEquals(1.23e-4, recorded.learningRate(), 0);
    assertEquals(4, recorded.loraRank());
    assertEquals(7.5, recorded.loraScale(), 0);
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), recorded.targetModules());
    assertEquals(64, recorded.trainSeqLength());
    assertEquals("the command line's --seed wins over the file's", 6, recorded.seed());
    assertEquals(6, manifest.get("seed").asLong());
    JsonNode adapterConfig = JSON.readTree(out.resolve("adapter_config.json").toFile());
    assertEquals(4, adapterConfig.at("/lora_parameters/rank").asInt());
  }

  @Test
  public void evaluateFromAFileEqualsTheSameFlags() throws IOException {
    Path file = write("eval.yaml", "model: " + model + "\ndata: " + data
        + "\nsplit: valid\nbatch_size: 3\nmax_seq_length: 16\nmlx_lm_pad_target: false\n");
    Run fromFile = execute("evaluate", "-c", file.toString());
    assertEquals(fromFile.err, 0, fromFile.code);
    Run fromFlags = execute("evaluate", "--model", model.toString(), "--data", data.toString(), "--split", "valid",
        "--batch-size", "3", "--max-seq-length", "16", "--no-mlx-lm-pad-target");
    assertEquals(fromFlags.err, 0, fromFlags.code);
    assertTrue(fromFile.out, fromFile.out.contains("8 documents") && fromFile.out.contains("cut to 16 tokens"));
    assertEquals(fromFlags.out, fromFile.out);
    // Documents not cut (--max-seq-length from the command line): the padding target then counts.
    Run whole = execute("evaluate", "-c", file.toString(), "--max-seq-length", "256");
    Run padded = execute("evaluate", "-c", file.toString(), "--max-seq-length", "256", "--mlx-lm-pad-target");
    assertEquals(padded.err, 0, padded.code);
    assertTrue(whole.out, whole.out.contains("valid.jsonl: 8 documents") && !whole.out.contains("cut to"));
    assertTrue("--mlx-lm-pad-target overrides the file's false: " + padded.out + " vs " + whole.out,
        !padded.out.equals(whole.out));
  }

  @Test
  public void fuseReadsItsKeysFromAFile() throws IOException {
    Path out = TMP.getRoot().toPath().resolve("fused");
    Path file = write("fuse.yaml", "model: " + model + "\noutput: " + out + "\ndtype: float32\n");
    Run run = execute("fuse", "-c", file.toString());
    assertEquals(run.err, 0, run.code);
    assertTrue(run.out, run.out.contains("float32"));
    assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    assertEquals("float32", JSON.readTree(out.resolve("config.json").toFile()).path("torch_dtype").asText());
  }

  private static Path write(String name, String yaml) throws IOException {
    return Files.writeString(TMP.getRoot().toPath().resolve(name), yaml);
  }

  private record Run(int code, String out, String err) {}

  private static Run execute(String... args) {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    cli.getSubcommands().values().forEach(sub -> {
      sub.setOut(new PrintWriter(out));
      sub.setErr(new PrintWriter(err));
    });
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }
}

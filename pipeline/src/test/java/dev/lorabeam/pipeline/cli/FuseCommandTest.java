package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.bench.PythonVenv;
import dev.lorabeam.pipeline.train.TinyLlama;
import dev.lorabeam.transforms.model.ModelLocator;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code fuse} end to end on the bundled SmolLM2-135M Q4_1 GGUF (real weights, real attention, so a
 * wrong Q/K permutation shows): the dequantized float32 Hugging Face directory gives the GGUF +
 * adapters' per-token CE within 1e-4 in this engine and in mlx-lm, carries a tokenizer that encodes
 * like the GGUF's, and the float16 GGUF export loads back within float16 tolerance with the
 * tokenizer keys llama.cpp reads, as does the GGUF exported again from the fused directory (Q/K
 * permuted back). On a Hugging Face base, the tokenizer.json becomes GGUF keys.
 */
public class FuseCommandTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final double TOLERANCE = 1e-4;
  // mlx-lm's softmax/sigmoid use MLX's CPU exp (up to 64 ulp off); this engine's its own (≤ 1 ulp,
  // native/BENCHMARK.md "The exp kernels"). Through SmolLM2's 30 blocks that alone is 1.96e-4 nats
  // (1.1e-5 with LORABEAM_ENGINE_OFF=cpu_softmax,cpu_sigmoid,cpu_lse); a wrong fuse is off by nats.
  private static final double PEER_TOLERANCE = 5e-4;
  private static final double F16_TOLERANCE = 5e-2;  // CE nats after 30 float16 blocks
  private static PythonVenv venv;

  @BeforeClass
  public static void findVenv() {
    venv = PeerVenv.require("check fuse against mlx-lm and the gguf reader");
  }

  @Test
  public void smolLm2GgufFusesToHfDirAndGgufThatGiveTheAdaptedLosses() throws IOException {
    Path gguf = ModelLocator.fromEnvironment().demoGguf();
    Path adapters = TMP.newFolder("smol-adapters").toPath();
    TextTokenizer tokenizer = ModelLocator.fromEnvironment().resolve("smollm2-135m").tokenizer();
    int[] ids = tokenizer.encode("The quick brown fox jumps over the lazy dog, and then it rests.", true);
    Batch batch = Batch.ofRows(1, ids.length - 1, ids);
    float[] expected;
    EngineConfig config = EngineConfig.defaults(gguf).withLora(4, 20.0, 0.0, 4, null).withSeed(5);
    try (Engine engine = Engine.open(config)) {
      for (int s = 0; s < 2; s++) {
        engine.step(batch, 1e-3);  // B moves away from 0
      }
      engine.saveAdapters(adapters);
      expected = engine.tokenLosses(batch);
    }
    Path out = TMP.getRoot().toPath().resolve("smol-fused");
    Path exported = TMP.getRoot().toPath().resolve("smol-f16.gguf");
    String printed = run("fuse", "--model", "smollm2-135m", "--adapter-path", adapters.toString(), "--output",
        out.toString(), "--dequantize", "--dtype", "float32", "--export-gguf", exported.toString());
    assertTrue(printed, printed.contains("Fused 28 adapted Linears"));  // 7 Linears x the last 4 blocks

    float[] fused = losses(out, batch);
    float diff = maxAbsDiff(expected, fused);
    System.out.printf("SmolLM2: fused HF dir vs GGUF + adapters max |ΔCE| %.3e over %d tokens%n", diff, fused.length);
    assertTrue("fused CE differs by " + diff, diff <= TOLERANCE);
    JsonNode config2 = JSON.readTree(out.resolve("config.json").toFile());
    assertEquals(8192, config2.get("max_position_embeddings").asInt());
    assertTrue(config2.get("tie_word_embeddings").asBoolean());
    TextTokenizer copied = ModelLocator.fromEnvironment().resolve(out.toString()).tokenizer();
    assertArrayEquals(ids, copied.encode("The quick brown fox jumps over the lazy dog, and then it rests.", true));
    assertEquals(tokenizer.chatTemplate(), copied.chatTemplate());

    JsonNode ref = venv.runScript(Duration.ofMinutes(3), "fused_logits.py",
        List.of("--fused", out.toString(), "--tokens", "[" + java.util.Arrays.toString(ids) + "]"), false);
    float[] mlxLm = new float[fused.length];
    for (int i = 0; i < mlxLm.length; i++) {
      mlxLm[i] = (float) ref.get("ce").get(0).get(i).asDouble();
    }
    float peer = maxAbsDiff(fused, mlxLm);
    System.out.printf("SmolLM2: mlx-lm on the fused dir vs this engine max |ΔCE| %.3e%n", peer);
    assertTrue("mlx-lm's CE on the fused directory differs by " + peer, peer <= PEER_TOLERANCE);

    float[] back = losses(exported, batch);
    float f16 = maxAbsDiff(fused, back);
    System.out.printf("SmolLM2: float16 GGUF export vs float32 fused max |ΔCE| %.3e%n", f16);
    assertTrue("GGUF export CE differs by " + f16, f16 <= F16_TOLERANCE);
    JsonNode seen = venv.runScript(Duration.ofMinutes(2), "inspect_gguf.py", List.of(exported.toString()), false);
    assertEquals("llama", seen.get("architecture").asText());
    assertEquals(49152, seen.get("tokens").asInt());
    assertEquals(tokenizer.chatTemplate(), seen.get("chat_template").asText());
    assertEquals("[576,1536]", seen.at("/tensors/blk.29.ffn_gate.weight").toString());
    assertEquals(2 + 9 * 30, seen.get("tensors").size());  // tied: no output.weight
    for (String key : List.of("tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.pre",
        "llama.context_length")) {
      assertTrue("missing " + key, seen.get("keys").toString().contains("\"" + key + "\""));
    }

    // Back to llama.cpp's Q/K order from the Hugging Face layout: the export from a directory base permutes.
    Path again = TMP.getRoot().toPath().resolve("smol-again.gguf");
    run("fuse", "--model", out.toString(), "--output", TMP.getRoot().toPath().resolve("smol-f16").toString(),
        "--export-gguf", again.toString());
    float permuted = maxAbsDiff(fused, losses(again, batch));
    System.out.printf("SmolLM2: GGUF exported from the fused HF dir vs float32 fused max |ΔCE| %.3e%n", permuted);
    assertTrue("GGUF export from the HF layout differs by " + permuted, permuted <= F16_TOLERANCE);
  }

  @Test
  public void hfBaseExportsItsTokenizerJsonAsGgufKeysAndRefusesANonEmptyOutput() throws IOException {
    Path model = TinyLlama.write(TMP.newFolder("tiny").toPath(), 31);
    Path out = TMP.getRoot().toPath().resolve("tiny-fused");
    Path exported = TMP.getRoot().toPath().resolve("tiny.gguf");
    run("fuse", "--model", model.toString(), "--output", out.toString(), "--export-gguf", exported.toString());
    JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
    assertEquals("float16", config.get("torch_dtype").asText());  // auto: TinyLlama has no torch_dtype
    assertTrue(Files.isRegularFile(out.resolve("tokenizer_config.json")));
    JsonNode seen = venv.runScript(Duration.ofMinutes(2), "inspect_gguf.py", List.of(exported.toString()), false);
    assertEquals(TinyLlama.VOCAB, seen.get("tokens").asInt());
    assertTrue(seen.get("chat_template").asText().contains("<|im_start|>"));
    int[] probe = new int[8];
    for (int i = 0; i < probe.length; i++) {
      probe[i] = new Random(i).nextInt(TinyLlama.VOCAB);
    }
    Batch batch = Batch.ofRows(1, probe.length - 1, probe);
    float f16 = maxAbsDiff(losses(out, batch), losses(exported, batch));
    assertTrue("GGUF export of an HF base differs by " + f16, f16 <= F16_TOLERANCE);

    StringWriter err = new StringWriter();
    picocli.CommandLine cli = LorabeamCli.newCommandLine();
    cli.setErr(new PrintWriter(err));
    assertEquals(2, cli.execute("fuse", "--model", model.toString(), "--output", out.toString()));
    assertTrue(err.toString(), err.toString().contains("already exists and is not empty"));
  }

  private static String run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine cli = LorabeamCli.newCommandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    assertEquals("fuse failed: " + err, 0, code);
    return out.toString();
  }

  private static float[] losses(Path model, Batch batch) {
    try (Engine engine = Engine.open(EngineConfig.defaults(model))) {
      return engine.tokenLosses(batch);
    }
  }

  private static float maxAbsDiff(float[] a, float[] b) {
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }
}

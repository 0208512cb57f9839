package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.bench.PythonVenv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@link Fuser} on tiny random Llamas: the fused model's per-token cross-entropy equals the base +
 * adapters' within 1e-4 (float32), for a float base (written as shards) and for a 4-bit base the
 * fuse itself wrote in mlx-community's layout; mlx-lm loads both outputs and its logits of fused vs
 * base + adapters agree within 1e-4; the float16 GGUF export loads back through MLX's load_gguf
 * (this engine) within float16 tolerance, and llama.cpp's gguf reader sees the expected names,
 * shapes, types and tokenizer keys. Under CI=true a venv without mlx-lm fails; elsewhere it skips.
 */
public class FuseTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(3);
  private static final int SEQ_LEN = 12;
  private static final double TOLERANCE = 1e-4;
  private static final double F16_TOLERANCE = 2e-2;  // CE nats; float16 weights keep ~3 significant digits

  private static PythonVenv venv;

  @BeforeClass
  public static void findVenv() {
    venv = TestVenv.require("fuse tests");
  }

  @Test
  public void floatBaseFusedIntoShardsGivesBasePlusAdapterLossesInEngineAndMlxLm() throws IOException {
    Path base = TinyModels.llama(TMP.newFolder("float-base").toPath(), 3);
    Path adapters = TMP.newFolder("float-adapters").toPath();
    Batch batch = TinyModels.randomBatch(new Random(4), 2, SEQ_LEN);
    float[] expected = adaptedLosses(base, adapters, batch, 11);

    Path fused = TMP.getRoot().toPath().resolve("float-fused");
    JsonNode report = Fuser.fuse(FuseSpec.of(base, adapters, fused).withShardBytes(100_000));
    assertEquals(14, report.get("fused_linears").asInt());  // 7 Linears x 2 layers
    assertTrue("expected shards: " + report.get("files"), report.get("files").size() > 1);
    JsonNode index = JSON.readTree(fused.resolve("model.safetensors.index.json").toFile());
    assertEquals(report.get("bytes").asLong(), index.at("/metadata/total_size").asLong());
    assertTrue(index.get("weight_map").has("lm_head.weight"));

    float[] got = baseLosses(fused, batch);
    float diff = TinyModels.maxAbsDiff(expected, got);
    System.out.printf("float base: fused vs base + adapters, max |ΔCE| %.3e over %d tokens%n", diff, got.length);
    assertTrue("fused CE differs by " + diff, diff <= TOLERANCE);
    assertMlxLmAgrees(fused, base, adapters, batch, got);
  }

  @Test
  public void quantizedBaseDequantizedGivesQuantizedPlusAdapterLosses() throws IOException {
    Path dense = TinyModels.llama(TMP.newFolder("q-dense").toPath(), 5);
    Path q4 = TMP.getRoot().toPath().resolve("q4-base");
    JsonNode q = Fuser.fuse(FuseSpec.of(dense, null, q4).withQuantizeBits(4));
    assertEquals(4, q.at("/quantization/bits").asInt());
    JsonNode config = JSON.readTree(q4.resolve("config.json").toFile());
    assertEquals(64, config.at("/quantization/group_size").asInt());
    assertEquals(4, config.at("/quantization/bits").asInt());

    Path adapters = TMP.newFolder("q-adapters").toPath();
    Batch batch = TinyModels.randomBatch(new Random(6), 2, SEQ_LEN);
    float[] expected = adaptedLosses(q4, adapters, batch, 12);
    try (Engine engine = Engine.open(TinyModels.config(q4))) {
      assertEquals("q4_g64", engine.modelInfo().quantization());
    }

    Path fused = TMP.getRoot().toPath().resolve("q-fused");
    JsonNode report = Fuser.fuse(FuseSpec.of(q4, adapters, fused).withDequantize(true));
    assertTrue(report.get("quantization").isNull());
    assertTrue(!JSON.readTree(fused.resolve("config.json").toFile()).has("quantization"));
    float[] got = baseLosses(fused, batch);
    float diff = TinyModels.maxAbsDiff(expected, got);
    System.out.printf("4-bit base: dequantized fuse vs base + adapters, max |ΔCE| %.3e%n", diff);
    assertTrue("fused CE differs by " + diff, diff <= TOLERANCE);
    assertMlxLmAgrees(fused, q4, adapters, batch, got);
  }

  @Test
  public void ggufExportLoadsBackWithinFloat16AndLlamaCppReaderSeesItsLayout() throws IOException {
    Path base = TinyModels.llama(TMP.newFolder("g-base").toPath(), 7);
    Path adapters = TMP.newFolder("g-adapters").toPath();
    Batch batch = TinyModels.randomBatch(new Random(8), 2, SEQ_LEN);
    adaptedLosses(base, adapters, batch, 13);
    Path fused = TMP.getRoot().toPath().resolve("g-fused");
    Path gguf = TMP.getRoot().toPath().resolve("g-out/tiny-f16.gguf");
    Fuser.fuse(FuseSpec.of(base, adapters, fused).withGguf(gguf, tokenizerMetadata()));
    float[] dense = baseLosses(fused, batch);
    float[] back = baseLosses(gguf, batch);
    float diff = TinyModels.maxAbsDiff(dense, back);
    System.out.printf("GGUF float16 export: max |ΔCE| %.3e vs the float32 fused model%n", diff);
    assertTrue("GGUF CE differs by " + diff, diff <= F16_TOLERANCE);
    try (Stream<Path> files = Files.list(gguf.getParent())) {
      assertEquals("no temp file may remain", 1, files.count());
    }

    JsonNode seen = venv.runScript(SCRIPT_TIMEOUT, "inspect_gguf.py", List.of(gguf.toString()), false);
    assertEquals("llama", seen.get("architecture").asText());
    JsonNode tensors = seen.get("tensors");
    assertEquals(2 + 9 * TinyModels.LAYERS + 1, tensors.size());  // embd, output_norm, output + 9 per block
    assertEquals("[64,256]", tensors.get("token_embd.weight").toString());  // ggml order: [in, out]
    assertEquals("[64,32]", tensors.get("blk.1.attn_k.weight").toString());
    assertEquals("[128,64]", tensors.get("blk.0.ffn_down.weight").toString());
    assertEquals("F16", seen.at("/types/blk.0.attn_q.weight").asText());
    assertEquals("F32", seen.at("/types/blk.0.attn_norm.weight").asText());
    assertEquals(256, seen.get("tokens").asInt());
    assertEquals("{{ messages }}", seen.get("chat_template").asText());
    for (String key : List.of("tokenizer.ggml.model", "tokenizer.ggml.token_type", "tokenizer.ggml.eos_token_id",
        "llama.context_length", "llama.rope.freq_base", "llama.attention.head_count_kv")) {
      assertTrue("missing GGUF key " + key + " in " + seen.get("keys"), seen.get("keys").toString().contains(key));
    }
  }

  @Test
  public void adaptersForAnotherModelAreRefusedWithTheTensorName() throws IOException {
    Path base = TinyModels.llama(TMP.newFolder("bad-base").toPath(), 9);
    Path adapters = TMP.newFolder("bad-adapters").toPath();
    Files.writeString(adapters.resolve("adapter_config.json"), "{\"lora_parameters\": {\"scale\": 20}}");
    TinyModels.writeSafetensors(adapters.resolve("adapters.safetensors"),
        java.util.Map.of("model.layers.7.self_attn.q_proj.lora_a", new float[64 * 4]),
        java.util.Map.of("model.layers.7.self_attn.q_proj.lora_a", new int[] {64, 4}));
    try {
      Fuser.fuse(FuseSpec.of(base, adapters, TMP.getRoot().toPath().resolve("bad-out")));
      fail("adapters for a 8-layer model must be refused");
    } catch (MlxException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("model.layers.7.self_attn.q_proj.lora_a"));
    }
  }

  /** Opens the base with random non-zero adapters, saves them to {@code adapters}, returns its CE. */
  private static float[] adaptedLosses(Path base, Path adapters, Batch batch, long seed) {
    try (Engine engine = Engine.open(TinyModels.config(base))) {
      TinyModels.randomizeLora(engine, seed, 0.05);
      engine.saveAdapters(adapters);
      return engine.tokenLosses(batch);
    }
  }

  /** CE of a model with fresh adapters (B = 0, so exactly the base). */
  private static float[] baseLosses(Path model, Batch batch) {
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      return engine.tokenLosses(batch);
    }
  }

  private static void assertMlxLmAgrees(Path fused, Path base, Path adapters, Batch batch, float[] ours) {
    List<List<Integer>> rows = new ArrayList<>();
    for (int r = 0; r < batch.rows(); r++) {
      List<Integer> row = new ArrayList<>();
      for (int i = 0; i <= batch.seqLen(); i++) {
        row.add(batch.tokens()[r * (batch.seqLen() + 1) + i]);
      }
      rows.add(row);
    }
    JsonNode ref = venv.runScript(SCRIPT_TIMEOUT, "fused_logits.py", List.of("--fused", fused.toString(),
        "--tokens", rows.toString(), "--base", base.toString(), "--adapters", adapters.toString()), false);
    double logitDiff = ref.get("max_abs_logit_diff").asDouble();
    double ceDiff = 0;
    for (int r = 0; r < batch.rows(); r++) {
      for (int i = 0; i < batch.seqLen(); i++) {
        ceDiff = Math.max(ceDiff, Math.abs(ref.get("ce").get(r).get(i).asDouble() - ours[r * batch.seqLen() + i]));
      }
    }
    System.out.printf("mlx-lm: fused vs base + adapters max |Δlogit| %.3e; mlx-lm vs engine on the fused model"
        + " max |ΔCE| %.3e%n", logitDiff, ceDiff);
    assertTrue("mlx-lm logits of fused vs base + adapters differ by " + logitDiff, logitDiff <= TOLERANCE);
    assertTrue("mlx-lm CE of the fused model differs from the engine's by " + ceDiff, ceDiff <= TOLERANCE);
  }

  /** A byte-sized tokenizer's GGUF keys in the typed form lb_fuse takes. */
  private static String tokenizerMetadata() {
    StringBuilder tokens = new StringBuilder("[");
    StringBuilder types = new StringBuilder("[");
    for (int i = 0; i < TinyModels.VOCAB; i++) {
      tokens.append(i == 0 ? "" : ",").append("\"t").append(i).append('"');
      types.append(i == 0 ? "" : ",").append(1);
    }
    return "{\"tokenizer.ggml.model\": {\"type\": \"str\", \"value\": \"gpt2\"},"
        + " \"tokenizer.ggml.tokens\": {\"type\": \"str[]\", \"value\": " + tokens + "]},"
        + " \"tokenizer.ggml.token_type\": {\"type\": \"i32[]\", \"value\": " + types + "]},"
        + " \"tokenizer.ggml.eos_token_id\": {\"type\": \"u32\", \"value\": 2},"
        + " \"tokenizer.ggml.add_bos_token\": {\"type\": \"bool\", \"value\": false},"
        + " \"tokenizer.chat_template\": {\"type\": \"str\", \"value\": \"{{ messages }}\"},"
        + " \"llama.context_length\": {\"type\": \"u32\", \"value\": 2048}}";
  }
}

package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Adapter files are mlx-lm's: key names, (in, r)/(r, out) shapes, adapter_config.json, atomic writes. */
public class AdapterFilesTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  public void savedAdaptersUseMlxLmNamesShapesAndConfig() throws Exception {
    Path model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 1);
    Path dir = TMP.getRoot().toPath().resolve("adapters");
    EngineConfig config = TinyModels.config(model).withLora(4, 16.0, 0.0, 1, List.of("q", "v", "down"));
    try (Engine engine = Engine.open(config)) {
      assertEquals(4L * (64 + 64) + 4L * (64 + 32) + 4L * (128 + 64), engine.modelInfo().trainableParams());
      engine.saveAdapters(dir);
    }
    JsonNode header = safetensorsHeader(dir.resolve("adapters.safetensors"));
    assertShape(header, "model.layers.1.self_attn.q_proj.lora_a", 64, 4);
    assertShape(header, "model.layers.1.self_attn.q_proj.lora_b", 4, 64);
    assertShape(header, "model.layers.1.self_attn.v_proj.lora_b", 4, 32);
    assertShape(header, "model.layers.1.mlp.down_proj.lora_a", 128, 4);
    assertFalse("only the last layer", header.has("model.layers.0.self_attn.q_proj.lora_a"));
    assertEquals("F32", header.get("model.layers.1.mlp.down_proj.lora_b").get("dtype").asText());
    JsonNode cfg = JSON.readTree(dir.resolve("adapter_config.json").toFile());
    assertEquals("lora", cfg.get("fine_tune_type").asText());
    assertEquals(1, cfg.get("num_layers").asInt());
    JsonNode lora = cfg.get("lora_parameters");
    assertEquals(4, lora.get("rank").asInt());
    assertEquals(16.0, lora.get("scale").asDouble(), 0);
    assertEquals(0.0, lora.get("dropout").asDouble(), 0);
    assertEquals("[\"self_attn.q_proj\",\"self_attn.v_proj\",\"mlp.down_proj\"]", lora.get("keys").toString());
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals("no temp files left", 2, files.count());
    }
  }

  @Test
  public void adaptersRoundTripIntoAFreshEngineExactly() throws Exception {
    Path model = TinyModels.llama(TMP.newFolder("tiny2").toPath(), 2);
    Path dir = TMP.newFolder("roundtrip").toPath();
    Batch batch = TinyModels.countingBatch(new Random(1), 2, 16);
    float[] trained;
    double loss;
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      for (int i = 0; i < 3; i++) {
        engine.step(batch, 1e-2);
      }
      trained = engine.loraValues();
      loss = engine.evalLoss(batch).loss();
      engine.saveAdapters(dir);
    }
    try (Engine fresh = Engine.open(TinyModels.config(model).withSeed(1234))) {
      assertTrue("a different seed starts elsewhere", TinyModels.maxAbsDiff(trained, fresh.loraValues()) > 0);
      fresh.loadAdapters(dir);
      assertEquals(0f, TinyModels.maxAbsDiff(trained, fresh.loraValues()), 0f);
      assertEquals(loss, fresh.evalLoss(batch).loss(), 0);
    }
  }

  @Test
  public void adaptersOfAnotherRankOrLayerSetAreRejectedWithTheReason() throws Exception {
    Path model = TinyModels.llama(TMP.newFolder("tiny3").toPath(), 3);
    Path dir = TMP.newFolder("rank8").toPath();
    try (Engine engine = Engine.open(TinyModels.config(model).withLora(8, 20, 0, -1, null))) {
      engine.saveAdapters(dir);
    }
    try (Engine engine = Engine.open(TinyModels.config(model))) {
      MlxException e = assertThrows(MlxException.class, () -> engine.loadAdapters(dir));
      assertTrue(e.getMessage(), e.getMessage().contains("another LoRA rank"));
      MlxException missing = assertThrows(MlxException.class, () -> engine.loadAdapters(dir.resolve("nope")));
      assertTrue(missing.getMessage(), missing.getMessage().contains("adapters.safetensors does not exist"));
    }
  }

  private static JsonNode safetensorsHeader(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    return JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
  }

  private static void assertShape(JsonNode header, String name, int rows, int cols) {
    assertTrue("has " + name, header.has(name));
    assertEquals(name, "[" + rows + "," + cols + "]", header.get(name).get("shape").toString());
  }
}

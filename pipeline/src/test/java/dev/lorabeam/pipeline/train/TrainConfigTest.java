package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.EngineConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Paths;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.Test;

/** Defaults users know, one-line validation naming the flag, and the JSON written beside checkpoints. */
public class TrainConfigTest {

  private static TrainConfigBuilder base() {
    return TrainConfig.builder("smollm2-135m", "data/sample");
  }

  @Test
  public void defaultsFollowTheIssueAndMlxLm() {
    TrainConfig c = base().build();
    assertEquals(4, c.batchSize());
    assertEquals(8, c.loraRank());
    assertEquals(20.0, c.loraScale(), 0);
    assertEquals(16, c.loraLayers());
    assertEquals(TargetModules.ALL, c.targetModules());
    assertEquals(512, c.trainSeqLength());
    assertEquals(1e-5, c.learningRate(), 0);
    assertEquals("constant", c.lrSchedule());
    assertEquals(0.01, c.weightDecay(), 0);
    assertEquals(2.7, c.alpha(), 0);
    assertEquals("off", c.distrust());
    assertNull(c.maxMemoryGb());
    assertNull(c.maxSteps());
    assertEquals(Paths.get("adapters", "metrics.jsonl"), c.resolvedMetricsFile());
    assertEquals(Paths.get("adapters", "checkpoints"), c.checkpointDir());
  }

  @Test
  public void shortModuleNamesBecomeMlxLmKeysWithoutDuplicates() {
    TrainConfig c = base().targetModules(List.of("q", "V", "q_proj", "mlp.down_proj")).build();
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"), c.targetModules());
  }

  @Test
  public void badValuesAreOneLineNamingTheFlagAndWhatIsAllowed() {
    assertRejected(b -> b.batchSize(0), "--batch-size must be ≥ 1 (got 0)");
    assertRejected(b -> b.quantize(3), "--quantize must be 4 or 8 (got 3)");
    assertRejected(b -> b.loraRank(0), "--lora-rank must be ≥ 1 (got 0)");
    assertRejected(b -> b.loraLayers(0), "--lora-layers must be ≥ 1, or -1 for all layers (got 0)");
    assertRejected(b -> b.loraDropout(1.0), "--lora-dropout must be in [0, 1) (got 1.0)");
    assertRejected(b -> b.maxMemoryGb(-2.0), "--max-memory must be a positive number of GB");
    assertRejected(b -> b.lrSchedule("step"), "--lr-schedule must be one of constant, cosine, linear (got 'step')");
    assertRejected(b -> b.distrust("on"), "--distrust must be one of off, additive, weighted (got 'on')");
    assertRejected(b -> b.maxSteps(10).warmupSteps(20), "--warmup-steps must not exceed --max-steps (got 20 > 10)");
    assertRejected(b -> b.targetModules(List.of("q", "lm_head")), "--target-modules accepts q,k,v,o,gate,up,down");
    assertRejected(b -> b.model(" "), "--model is required");
    assertRejected(b -> b.learningRate(0), "--learning-rate must be in (0, 1)");
    assertRejected(b -> b.valBatches(-2), "--val-batches must be ≥ 0, or -1 for the whole validation set (got -2)");
    assertRejected(b -> b.alpha(0), "--alpha must be > 0");
    assertRejected(b -> b.computeDtype("int8"), "--compute-dtype must be one of float32, float16, bfloat16");
    assertRejected(b -> b.keepCheckpoints(0), "--keep-checkpoints must be ≥ 1 (got 0)");
    assertRejected(b -> b.trainSeqLength(1), "--train-seq-length must be ≥ 2 (got 1)");
  }

  @Test
  public void engineConfigCarriesTheLoraOptimizerAndMemoryFlags() {
    TrainConfig c = base().loraRank(16).loraScale(2).loraLayers(-1).loraDropout(0.05).quantize(4)
        .computeDtype("bfloat16").weightDecay(0.1).maxGradNorm(0.5).gradAccumulation(2)
        .gradCheckpoint(true).seed(9).targetModules(List.of("q", "v")).build();
    EngineConfig e = c.toEngineConfig(Paths.get("/models/smol.gguf"));
    assertEquals(Paths.get("/models/smol.gguf"), e.model());
    assertEquals("bfloat16", e.computeDtype());
    assertEquals(4, e.quantizeBits());
    assertEquals(16, e.loraRank());
    assertEquals(2.0, e.loraScale(), 0);
    assertEquals(0.05, e.loraDropout(), 0);
    assertEquals(-1, e.loraLayers());
    assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), e.targetModules());
    assertEquals(0.1, e.weightDecay(), 0);
    assertEquals(0.5, e.maxGradNorm(), 0);
    assertEquals(2, e.gradAccumulation());
    assertTrue(e.gradCheckpoint());
    assertEquals(9, e.seed());
    assertEquals(EngineConfig.defaults(e.model()).adamBeta2(), e.adamBeta2(), 0);
    assertEquals(false, e.biasCorrection());
  }

  @Test
  public void resumeNeedsTheSameAdapterShapeButMayChangeTheRest() {
    TrainConfig saved = base().loraRank(8).build();
    base().loraRank(8).learningRate(1e-4).maxSteps(900).data("data/new").build().checkResumableFrom(saved);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> base().loraRank(16).build().checkResumableFrom(saved));
    assertEquals("--resume: --lora-rank is 16 but the checkpoint in adapters was trained with 8;"
        + " use the same value or a new --adapter-path", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> base().targetModules(List.of("q")).build().checkResumableFrom(saved));
  }

  @Test
  public void jsonRoundTripKeepsEveryValue() {
    TrainConfig c = base().maxMemoryGb(24.5).maxSteps(300).quantize(4).lrSchedule("COSINE")
        .distrust("weighted").metricsFile("m.jsonl").seed(42).targetModules(List.of("q", "v")).build();
    String json = c.toJson();
    assertTrue(json, json.contains("\"batchSize\" : 4"));
    assertEquals(c, TrainConfig.fromJson(json));
    assertEquals(c, c.toBuilder().build());
  }

  @Test
  public void jsonWithABadValueIsRejectedWithTheFlagsMessage() {
    String json = base().build().toJson().replace("\"batchSize\" : 4", "\"batchSize\" : 0");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson(json));
    assertTrue(e.getMessage(), e.getMessage().contains("--batch-size must be ≥ 1 (got 0)"));
  }

  @Test
  public void configIsJavaSerializableForBeam() throws Exception {
    TrainConfig c = base().maxSteps(7).build();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertEquals(c, in.readObject());
    }
  }

  private static void assertRejected(UnaryOperator<TrainConfigBuilder> change, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> change.apply(base()).build());
    assertTrue("expected '" + expected + "' in: " + e.getMessage(), e.getMessage().contains(expected));
    assertTrue("one line: " + e.getMessage(), !e.getMessage().contains("\n"));
  }
}

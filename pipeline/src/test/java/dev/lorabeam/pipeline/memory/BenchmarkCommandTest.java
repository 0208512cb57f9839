package dev.lorabeam.pipeline.memory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.Mlx;
import dev.lorabeam.pipeline.cli.LorabeamCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** {@code benchmark} on a real engine: growing batch sizes under a small limit, and a missing model. */
public class BenchmarkCommandTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();
  private long limitBefore;
  private final PrintStream stdout = System.out;
  private final PrintStream stderr = System.err;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @Before
  public void capture() {
    limitBefore = Mlx.memoryLimit();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @After
  public void restore() {
    System.setOut(stdout);
    System.setErr(stderr);
    Mlx.setMemoryLimit(limitBefore);  // benchmark set a tiny limit for this JVM
  }

  @Test
  public void reportsTheLargestBatchThatFitsUnderTheLimit() throws Exception {
    Path model = SizedLlama.write(tmp.getRoot().toPath().resolve("sized"));
    // Measured peaks at T = 64: about 28, 38, 58, 98 MB for batch 1, 2, 4, 8: 4 fits under 75 MB, 8 does not.
    int code = LorabeamCli.execute("benchmark", "--model", model.toString(), "--max-memory", "0.075",
        "--train-seq-length", "64", "--steps", "1", "--max-batch-size", "16");
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(text + err, 0, code);
    Matcher best = Pattern.compile("Largest that fits under 0\\.075 GB: --batch-size (\\d+) --train-seq-length 64 \\(peak ([0-9.]+) GB")
        .matcher(text);
    assertTrue(text, best.find());
    int batch = Integer.parseInt(best.group(1));
    assertTrue(text, Double.parseDouble(best.group(2)) <= 0.075);
    assertTrue(text, batch >= 2 && batch <= 8);
    Matcher row = Pattern.compile("(?m)^\\s+" + batch * 2 + "\\s.*(does not fit|not tried)").matcher(text);
    assertTrue("the next size must be reported as not fitting:\n" + text, row.find());
    for (int b = 1; b <= batch; b *= 2) {
      assertTrue("batch " + b + " must be measured:\n" + text,
          Pattern.compile("(?m)^\\s+" + b + "\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+fits$").matcher(text).find());
    }
  }

  @Test
  public void aMissingModelIsNotFoundWithTheDownloadCommandNeverOutOfMemory() {
    int code = LorabeamCli.execute("benchmark", "--model", "nobody/no-such-model", "--max-memory", "1");
    String text = err.toString(StandardCharsets.UTF_8) + out.toString(StandardCharsets.UTF_8);
    assertEquals(text, 2, code);
    assertTrue(text, text.contains("huggingface-cli download nobody/no-such-model"));
    assertFalse(text, text.toLowerCase().contains("out of memory"));
  }
}

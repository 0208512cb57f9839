package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/** The progress line users know, and plain log lines when stderr is not a terminal. */
public class ProgressReporterTest {

  private static StepMetrics step(long step, double loss, Double val) {
    return new StepMetrics(step, loss, 1.32, 5e-5, 600, 3.4, 5.1, null, 412, 0, val, loss, 0, loss);
  }

  @Test
  public void lineHasTheShapeUsersKnow() {
    String facts = ProgressReporter.facts(step(45, 1.29481, null), '↓', 0.7);
    assertEquals("loss: 1.2948 (avg: 1.32) ↓ | lr: 5.00e-05 | 0.7 steps/s | 412 tok/s | mem: 3.4 GB", facts);
    String line = ProgressReporter.line(600, 45, 5000, 8 * 3600, facts);
    assertEquals("[00:10:00] --------------------- 45/5000 ETA:8h " + facts,
        line.replace("=", "-").replace(">", "-").replaceFirst("-{20}", "---------------------"));
    assertTrue(line, line.startsWith("[00:10:00] "));
    assertTrue(line, line.contains(" 45/5000 ETA:8h loss: 1.2948"));
  }

  @Test
  public void slowRatesKeepEnoughDecimalsToBeNonZero() {
    assertEquals("0.7", ProgressReporter.rate(0.7, 1));
    assertEquals("48.7", ProgressReporter.rate(48.66, 1));
    assertEquals("0.02", ProgressReporter.rate(0.017, 1));
    assertEquals("0.002", ProgressReporter.rate(0.0017, 1));
    assertEquals("412", ProgressReporter.rate(412.3, 0));
    assertEquals("0.8", ProgressReporter.rate(0.82, 0));
    assertEquals("0.0", ProgressReporter.rate(0, 1));
  }

  @Test
  public void barFillsWithAnArrowHead() {
    assertEquals("--------------------", ProgressReporter.bar(0, 100));
    assertEquals("=========>----------", ProgressReporter.bar(50, 100));
    assertEquals("====================", ProgressReporter.bar(100, 100));
    assertEquals("=>----", ProgressReporter.bar(67, 200, 6));
  }

  @Test
  public void arrowComparesWithThePreviousLoss() {
    assertEquals('~', ProgressReporter.arrow(Double.NaN, 2.0));
    assertEquals('↓', ProgressReporter.arrow(2.0, 1.9));
    assertEquals('↑', ProgressReporter.arrow(2.0, 2.1));
    assertEquals('~', ProgressReporter.arrow(2.0, 2.0005));
  }

  @Test
  public void etaAndClockFormats() {
    assertEquals("8h", ProgressReporter.eta(8 * 3600));
    assertEquals("1h23m", ProgressReporter.eta(3600 + 23 * 60 + 10));
    assertEquals("12m", ProgressReporter.eta(12 * 60 + 5));
    assertEquals("45s", ProgressReporter.eta(45));
    assertEquals("?", ProgressReporter.eta(Double.NaN));
    assertEquals("01:02:03", ProgressReporter.clock(3723));
    assertEquals("123:00:00", ProgressReporter.clock(123 * 3600));
  }

  @Test
  public void withoutATerminalStepsGoToTheLogAtACadence() {
    List<String> lines = new ArrayList<>();
    try (ProgressReporter r = new ProgressReporter(200, 0, false, null, lines::add, true)) {
      for (long s = 1; s <= 200; s++) {
        r.update(step(s, 3.0 - s * 0.01, s == 120 ? 1.5 : null));
      }
      r.message("checkpoint written");
    }
    // Step 1, every 50 steps, the validation at 120, the last step, the message.
    assertEquals(lines.toString(), 7, lines.size());
    assertTrue(lines.get(0), lines.get(0).startsWith("[00:10:00] step 1/200 ETA:"));
    assertTrue(lines.get(0), lines.get(0).contains("loss: 2.9900 (avg: 1.32) ~ | lr: 5.00e-05"));
    assertTrue(lines.get(1), lines.get(1).contains("step 51/200") && lines.get(1).contains(" ↓ "));
    assertTrue(lines.get(3), lines.get(3).contains("step 120/200") && lines.get(3).endsWith("| val: 1.5000"));
    assertTrue(lines.get(5), lines.get(5).contains("step 200/200"));
    assertEquals("checkpoint written", lines.get(6));
  }

  @Test
  public void onATerminalTheBarIsDrawnOnStderr() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (ProgressReporter r = new ProgressReporter(10, 0, true, err, s -> { }, true)) {
      for (long s = 1; s <= 10; s++) {
        r.update(step(s, 2.0 - s * 0.1, null));
      }
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(text, text.contains("10/10 ETA:"));
    assertTrue(text, text.contains("loss: 1.0000 (avg: 1.32) ↓"));
  }

  @Test
  public void noopIgnoresUpdates() {
    ProgressReporter.NOOP.update(step(1, 1, null));
    ProgressReporter.NOOP.close();
  }
}

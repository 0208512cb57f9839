package dev.lorabeam.pipeline.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** EndToEndBenchmark reads mlx_lm.lora's report in both of its formats: the last train report and val loss count. */
public class MlxLmReportTest {
  @Test
  public void readsTheIterLinesOfMlxLm031() {
    String out = "Iter 1: Val loss 3.512, Val took 2.1s\n"
        + "Iter 5: Train loss 3.400, Learning Rate 1.000e-05, It/sec 0.210, Tokens/sec 99.5, Trained Tokens 2048,"
        + " Peak mem 1.234 GB\n"
        + "Iter 10: Train loss 3.300, Learning Rate 1.000e-05, It/sec 0.220, Tokens/sec 101.25, Trained Tokens 4100,"
        + " Peak mem 1.500 GB\n"
        + "Iter 10: Val loss 3.250, Val took 2.0s\n";
    MlxLmReport r = MlxLmReport.parse(out);
    assertEquals(101.25, r.tokensPerSec(), 1e-9);
    assertEquals(4100, r.trainedTokens());
    assertEquals(3.25, r.valLoss(), 1e-9);
    assertEquals(1.5, r.peakMemGb(), 1e-9);
    assertEquals(2, r.validations());
    assertEquals(4.1, r.valSecs(), 1e-9);
  }

  @Test
  public void readsTheTableOfMlxLm032WithColoursAndThousandsSeparators() {
    String out = "  iter   train_loss     tok/s     tokens\n"
        + "     1    \u001B[32mval\u001B[0m 10.851    3.10s\n"
        + "     8    \u001B[1;32m10.812 ▼\u001B[0m    1,234      6.4k\n"
        + "     8    val 10.790    2.95s\n";
    MlxLmReport r = MlxLmReport.parse(out);
    assertEquals(1234, r.tokensPerSec(), 1e-9);
    assertEquals(6400, r.trainedTokens());
    assertEquals(10.79, r.valLoss(), 1e-9);
    assertTrue(Double.isNaN(r.peakMemGb()));
    assertEquals(2, r.validations());
    assertEquals(6.05, r.valSecs(), 1e-9);
  }

  @Test
  public void anOutputWithoutATrainingReportIsAnErrorThatShowsTheOutput() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> MlxLmReport.parse("Loading model\n"));
    assertTrue(e.getMessage(), e.getMessage().contains("Loading model"));
  }
}

package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.memory.MemoryModel;
import dev.lorabeam.pipeline.memory.MemoryModel.Plan;
import dev.lorabeam.pipeline.memory.MemoryPlanner;
import dev.lorabeam.pipeline.memory.MemoryPlanner.Choice;
import dev.lorabeam.pipeline.memory.ModelShape;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.Test;
import picocli.CommandLine;

/** {@code recommend}: flags that fit the stated memory, chosen from the memory model. */
public class RecommendCommandTest {

  @Test
  public void llama8bOn24GbIsQuantizedAndFitsWithItsMargin() {
    String out = run(0, "recommend", "--memory", "24", "--model", "llama-8b");
    assertTrue(out, out.contains("train --model llama-8b --quantize 4 --batch-size "));
    Choice c = MemoryPlanner.recommend(ModelShape.KNOWN.get("llama-8b"), 24_000_000_000L).orElseThrow();
    assertTrue(c.estimate().total() <= MemoryPlanner.FILL * 24e9);
    assertTrue(out, out.contains(String.format("Predicted peak %.1f GB of 24.0 GB", c.estimate().total() / 1e9)));
  }

  @Test
  public void llama8bWithRoomToSpareIsNotQuantized() {
    String out = run(0, "recommend", "--memory", "128", "--model", "llama-8b");
    assertTrue(out, out.contains("train --model llama-8b --batch-size "));
    assertFalse(out, out.contains("--quantize"));
  }

  @Test
  public void aRecommendationIsTheLargestBatchThatFits() {
    ModelShape smol = ModelShape.KNOWN.get("smollm2-135m");
    long budget = 2_000_000_000L;
    Plan p = MemoryPlanner.recommend(smol, budget).orElseThrow().plan();
    Plan twice = new Plan(p.quantizeBits(), p.batchSize() * 2, p.seqLength(), p.loraRank(), p.loraLayers(),
        p.gradCheckpoint(), p.computeBytes());
    boolean enough = (long) p.batchSize() * p.seqLength() >= 4096;
    assertTrue(p + " could double its batch", enough || MemoryModel.estimate(smol, twice).total() > MemoryPlanner.FILL * budget);
  }

  @Test
  public void withoutAModelSmallMemoryFallsBackToTheDemoModel() {
    String out = run(0, "recommend", "--memory", "2");
    assertTrue(out, out.contains("llama-8b does not fit in 2.0 GB"));
    assertTrue(out, out.contains("train --model smollm2-135m "));
  }

  @Test
  public void nothingFittingIsAUserErrorWithTheFix() {
    String err = runErr(2, "recommend", "--memory", "0.05");
    assertTrue(err, err.contains("nothing fits in 0.1 GB") && err.contains("--memory GB"));
    assertTrue(runErr(2, "recommend", "--memory", "-3").contains("--memory must be a positive number of GB (got -3.0)"));
  }

  @Test
  public void withoutMemoryItUsesTheAutoLimitOfThisMachine() {
    String out = run(0, "recommend", "--model", "smollm2-135m");
    assertTrue(out, out.contains("(the auto limit for ") && out.contains("train --model smollm2-135m"));
  }

  private static String run(int code, String... args) {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    assertEquals(out + "\n" + err, code, cli.execute(args));
    return out.toString();
  }

  private static String runErr(int code, String... args) {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(new StringWriter()));
    cli.setErr(new PrintWriter(err));
    assertEquals(err.toString(), code, cli.execute(args));
    return err.toString();
  }
}

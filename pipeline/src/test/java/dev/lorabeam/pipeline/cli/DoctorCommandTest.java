package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.Test;
import picocli.CommandLine;

/** {@code doctor} runs against the real MLX and reports every fact it promises. */
public class DoctorCommandTest {

  @Test
  public void printsMachineMlxMemoryRuleAndDemoModel() {
    CommandLine cli = LorabeamCli.newCommandLine();
    StringWriter out = new StringWriter();
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("doctor"));
    String text = out.toString();
    for (String line : new String[] {"OS:", "Chip:", "Memory:", "MLX:           0.32.4", "Memory limit:", "MLX limit now:"}) {
      assertTrue("missing '" + line + "' in:\n" + text, text.contains(line));
    }
    // The Linux and macOS wheels have the ring backend; the line lists every backend it knows.
    assertTrue("distributed backends:\n" + text, text.contains("Distributed:   ring yes, mpi ")
        && text.contains("jaccl ") && text.contains("nccl "));
    assertTrue("the build installs the demo model:\n" + text, text.contains("Demo model:    installed"));
  }

  @Test
  public void unknownCommandIsAUsageError() {
    CommandLine cli = LorabeamCli.newCommandLine();
    cli.setErr(new PrintWriter(new StringWriter()));
    assertEquals(2, cli.execute("frobnicate"));
  }
}

package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Issue 10 item 6, with real {@code train} processes: SIGINT / SIGTERM after a step let that step
 * finish, write a checkpoint at it, print one line with the resume command and exit 130 / 143;
 * {@code --resume} then continues with the losses of an uninterrupted run. A second SIGINT while
 * that checkpoint is being written exits at once with 130 and leaves the previous one the latest.
 */
public class SignalStopTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final int STEPS = 40;
  private static final long BOUND_S = 180;  // one child, on 2 shared cores
  private static final Pattern STOPPED = Pattern.compile("Stopped by SIG(INT|TERM) after step (\\d+) \\(checkpoint (\\S+)\\)\\. "
      + "To resume from --adapter-path (\\S+): lorabeam train .* --resume");

  private static TrainProcesses train;
  private static List<StepMetrics> uninterrupted;

  @BeforeClass
  public static void referenceRun() throws Exception {
    train = TrainProcesses.prepare(TMP.newFolder("setup").toPath());
    Path out = TMP.newFolder("reference").toPath();
    train.runToEnd(train.args(out, STEPS, "--save-every", "1000"), BOUND_S);
    uninterrupted = MetricsWriter.readAll(out.resolve("metrics.jsonl"));
    assertEquals(STEPS, uninterrupted.size());
  }

  @AfterClass
  public static void stopChildren() throws InterruptedException {
    train.close();
  }

  @Test
  public void sigtermAfterAStepCheckpointsItExits143AndResumeEqualsAnUninterruptedRun() throws Exception {
    Path out = TMP.newFolder("term").toPath();
    long step = stopAfterStep3(out, "TERM", 143);
    train.runToEnd(train.args(out, STEPS, "--save-every", "1000", "--resume"), BOUND_S);
    List<StepMetrics> resumed = MetricsWriter.readAll(out.resolve("metrics.jsonl"));
    assertEquals(STEPS, resumed.size());
    for (int i = 0; i < STEPS; i++) {
      assertEquals("step " + (i + 1) + " (stopped after " + step + ", resumed): loss bits",
          Double.doubleToLongBits(uninterrupted.get(i).loss()), Double.doubleToLongBits(resumed.get(i).loss()));
    }
  }

  @Test
  public void ctrlCAfterAStepCheckpointsItAndExits130() throws Exception {
    stopAfterStep3(TMP.newFolder("int").toPath(), "INT", 130);
  }

  @Test
  public void aSecondCtrlCDuringTheCheckpointWriteExitsAtOnceAndKeepsThePreviousCheckpoint() throws Exception {
    Path out = TMP.newFolder("twice").toPath();
    train.runToEnd(train.args(out, 3, "--save-every", "1000"), BOUND_S);  // step-000003, the previous checkpoint
    // The checkpoint written on the first Ctrl-C waits 60 s between its files and its commit.
    TrainProcesses.Child c = train.start(train.args(out, STEPS, "--save-every", "1000", "--resume"),
        "-D" + TrainingSession.STOP_PAUSE_PROPERTY + "=60000");
    Instant attempt = Instant.now();
    assertTrue(c.output(), TrainProcesses.awaitStep(c, out.resolve("metrics.jsonl"), 4, Instant.EPOCH, BOUND_S));
    c.signal("INT");
    awaitOutput(c, "Saving a checkpoint at step");
    // That line comes before the .tmp-* directory exists: wait for the write to be inside its pause
    // (its last file there), or the second SIGINT can end the process before the write began.
    CheckpointStore store = new CheckpointStore(out, 3);
    awaitTmpFile(c, store, CheckpointStore.OPTIMIZER_FILE);
    long sent = System.nanoTime();
    c.signal("INT");
    assertEquals(c.output(), 130, c.await(BOUND_S));
    double seconds = (System.nanoTime() - sent) / 1e9;
    System.out.printf("second SIGINT: exit 130 %.2f s after it (the write it cut would have paused 60 s)%n", seconds);
    assertTrue("exited " + seconds + " s after the second SIGINT", seconds < 30);
    String log = c.output();
    assertTrue(log, log.contains("SIGINT again: exiting now without a checkpoint"));
    assertFalse(log, log.contains("Stopped by SIGINT"));
    assertEquals("the previous checkpoint stays the latest", 3, store.latest().orElseThrow().step());
    assertEquals("no other complete checkpoint", List.of(3L), store.stepDirs());
    assertFalse("the cut write is left as a .tmp-* directory", tmpDirs(store).isEmpty());
    assertTrue("this attempt trained past step 3", TrainProcesses.lastStep(out.resolve("metrics.jsonl"), attempt) > 3);
  }

  /** Sends {@code signal} once step 3 is in the metrics file; checks the exit, the line, the checkpoint. */
  private static long stopAfterStep3(Path out, String signal, int exitCode) throws Exception {
    TrainProcesses.Child c = train.start(train.args(out, STEPS, "--save-every", "1000"));
    Path metrics = out.resolve("metrics.jsonl");
    assertTrue(c.output(), TrainProcesses.awaitStep(c, metrics, 3, Instant.EPOCH, BOUND_S));
    c.signal(signal);
    assertEquals(c.output(), exitCode, c.await(BOUND_S));
    String log = c.output();
    Matcher m = STOPPED.matcher(log);
    assertTrue("one line with the step, the checkpoint and the resume command:\n" + log, m.find());
    assertEquals(signal, m.group(1));
    long step = Long.parseLong(m.group(2));
    System.out.printf("SIG%s sent after step 3: stopped after step %d, exit %d%n", signal, step, exitCode);
    assertTrue("stopped before the end: " + step, step >= 3 && step < STEPS);
    assertEquals(out.toString(), m.group(4));
    assertEquals("the step the run stopped at is the last in the metrics", step, TrainProcesses.lastStep(metrics));
    CheckpointStore.Checkpoint latest = new CheckpointStore(out, 3).latest().orElseThrow();
    assertEquals("a checkpoint at the stopped step", step, latest.step());
    assertEquals(latest.dir().toString(), m.group(3));
    CheckpointStore.verify(latest.dir());
    return step;
  }

  private static void awaitOutput(TrainProcesses.Child c, String text) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
    while (!c.output().contains(text)) {
      assertTrue("no \"" + text + "\":\n" + c.output(), c.process().isAlive() && System.nanoTime() < deadline);
      Thread.sleep(5);
    }
  }

  /** Waits until a {@code .tmp-step-*} directory holds {@code file}. */
  private static void awaitTmpFile(TrainProcesses.Child c, CheckpointStore store, String file)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
    while (tmpDirs(store).stream().noneMatch(d -> Files.exists(d.resolve(file)))) {
      assertTrue("no .tmp-step-*/" + file + ":\n" + c.output(), c.process().isAlive() && System.nanoTime() < deadline);
      Thread.sleep(5);
    }
  }

  private static List<Path> tmpDirs(CheckpointStore store) throws IOException {
    List<Path> dirs = new ArrayList<>();
    try (DirectoryStream<Path> tmp = Files.newDirectoryStream(store.root(), ".tmp-step-*")) {
      tmp.forEach(dirs::add);
    }
    return dirs;
  }
}

package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Issue 10 item 4, crash safety measured: the real {@code train} CLI in its own JVM, checkpointing
 * every step, is SIGKILLed at seeded random moments — a random delay after the metrics file shows
 * the step it aims at, so kills land mid-step, between a step's metrics line and its checkpoint,
 * and inside the checkpoint write — and restarted with {@code --resume} each time. After every
 * kill each visible checkpoint must verify (manifest, SHA-256 of every file) and the published
 * adapters must be one of them; at the end the run must have reached its last step with exactly
 * the per-step losses of an uninterrupted run, and every step trained twice must have had the
 * same loss both times (compared bit for bit).
 */
public class KillResumeTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final int STEPS = 60;
  private static final int KILLS = 20;
  private static final long SEED = 20261202L;
  private static final long BOUND_S = 180;  // one child, on 2 shared cores

  /** What one kill hit, judged from the files it left. */
  enum Moment { BEFORE_ITS_STEP_METRICS, AFTER_METRICS_BEFORE_CHECKPOINT, INSIDE_CHECKPOINT_WRITE }

  @Test
  public void sigkillAtRandomMomentsNeverTearsACheckpointAndResumedLossesEqualAnUninterruptedRun()
      throws Exception {
    long started = System.nanoTime();
    try (TrainProcesses train = TrainProcesses.prepare(TMP.newFolder("setup").toPath())) {
      Path reference = TMP.newFolder("reference").toPath();
      train.runToEnd(train.args(reference, STEPS), BOUND_S);
      Map<Long, Double> expected = lossesByStep(reference.resolve("metrics.jsonl"));
      assertEquals("uninterrupted run's steps", STEPS, expected.size());
      double stepMillis = reference(reference);

      Path out = TMP.newFolder("killed").toPath();
      Path metrics = out.resolve("metrics.jsonl");
      CheckpointStore store = new CheckpointStore(out, 3);
      Random random = new Random(SEED);
      Map<Long, Double> firstTrained = new HashMap<>();
      Map<Moment, Integer> moments = new HashMap<>();
      int kills = 0, trials = 0, verified = 0, retrained = 0;
      while (true) {
        long from = store.latest().map(CheckpointStore.Checkpoint::step).orElse(0L);
        List<Path> leftovers = tmpDirs(store);
        Instant attempt = Instant.now();
        TrainProcesses.Child child = train.start(train.args(out, STEPS, "--resume"));
        trials++;
        if (kills == KILLS || from >= STEPS - 1) {
          assertEquals("the last attempt runs to the end:\n" + child.output(), 0, child.await(BOUND_S));
          retrained += record(metrics, attempt, firstTrained, expected);
          break;
        }
        // Aim at the step after the checkpoint, then kill within the next 1.5 steps (seeded).
        long delayMicros = (long) (random.nextDouble() * 1.5 * stepMillis * 1000);
        if (!TrainProcesses.awaitStep(child, metrics, from + 1, attempt, BOUND_S)) {
          fail("the run ended before kill " + (kills + 1) + " (exit " + child.await(10) + "): raise STEPS\n" + child.output());
        }
        Thread.sleep(delayMicros / 1000, (int) (delayMicros % 1000) * 1000);
        child.process().destroyForcibly();  // SIGKILL on Linux and macOS
        child.await(30);
        kills++;
        moments.merge(momentOf(metrics, store, leftovers), 1, Integer::sum);
        verified += verifyEveryCheckpoint(out, store);
        retrained += record(metrics, attempt, firstTrained, expected);
      }

      Map<Long, Double> resumed = lossesByStep(metrics);
      assertEquals("the killed run's steps", expected.keySet(), resumed.keySet());
      assertEquals("one whole line per step, nothing torn", STEPS, Files.readAllLines(metrics).size());
      int identical = 0;
      for (long step = 1; step <= STEPS; step++) {
        assertBits("step " + step + ": killed and resumed vs uninterrupted", expected.get(step), resumed.get(step));
        identical++;
      }
      assertEquals(STEPS, store.latest().orElseThrow().step());
      System.out.printf("kill-resume: %d trials, %d SIGKILLs (%s), %d checkpoints verified, %d steps re-trained "
              + "(each equal to its first loss), %d/%d steps identical to the uninterrupted run, %.0f s%n",
          trials, kills, moments, verified, retrained, identical, STEPS, (System.nanoTime() - started) / 1e9);
      assertEquals(KILLS, kills);
    }
  }

  /** The reference run's step time in milliseconds, checkpoint included (engine start-up left out). */
  private static double reference(Path dir) {
    List<StepMetrics> m = MetricsWriter.readAll(dir.resolve("metrics.jsonl"));
    return 1000 * (m.get(m.size() - 1).elapsedSecs() - m.get(0).elapsedSecs()) / (m.size() - 1);
  }

  /**
   * Records the losses of the steps the attempt started at {@code attempt} trained (their lines carry
   * a later timestamp); a step trained before must have had the same loss. Returns how many it trained again.
   */
  private static int record(Path metrics, Instant attempt, Map<Long, Double> first, Map<Long, Double> expected) {
    int again = 0;
    for (StepMetrics m : MetricsWriter.readAll(metrics)) {
      if (Instant.parse(m.timestamp()).isBefore(attempt)) {
        continue;
      }
      Map.Entry<Long, Double> e = Map.entry(m.step(), m.loss());
      Double before = first.putIfAbsent(e.getKey(), e.getValue());
      if (before != null) {
        assertBits("step " + e.getKey() + " trained again after a resume", before, e.getValue());
        again++;
      }
      assertBits("step " + e.getKey() + " vs uninterrupted", expected.get(e.getKey()), e.getValue());
    }
    return again;
  }

  /**
   * Every {@code step-*} directory must verify, whatever moment the kill hit; a {@code .tmp-*} one may
   * be left. The published adapters, when there are any yet, are a whole copy of a visible checkpoint's.
   */
  private static int verifyEveryCheckpoint(Path out, CheckpointStore store) throws IOException {
    List<String> adapterHashes = new ArrayList<>();
    int n = 0;
    for (long step : store.stepDirs()) {
      Path dir = store.root().resolve(CheckpointStore.dirName(step));
      try {
        CheckpointStore.verify(dir);
      } catch (IllegalStateException torn) {
        throw new AssertionError("visible checkpoint " + dir + " does not verify: " + torn.getMessage(), torn);
      }
      adapterHashes.add(DurableFiles.sha256(dir.resolve(CheckpointStore.ADAPTERS_FILE)));
      n++;
    }
    Path published = out.resolve(CheckpointStore.ADAPTERS_FILE);
    if (Files.exists(published)) {
      assertTrue("published adapters " + published + " are none of the checkpoints' " + store.stepDirs(),
          adapterHashes.contains(DurableFiles.sha256(published)));
    }
    return n;
  }

  /** A new {@code .tmp-step-*} directory means the kill hit a checkpoint being written. */
  private static Moment momentOf(Path metrics, CheckpointStore store, List<Path> before) throws IOException {
    List<Path> now = tmpDirs(store);
    now.removeAll(before);
    if (!now.isEmpty()) {
      return Moment.INSIDE_CHECKPOINT_WRITE;
    }
    long checkpoint = store.latest().map(CheckpointStore.Checkpoint::step).orElse(0L);
    return TrainProcesses.lastStep(metrics) > checkpoint
        ? Moment.AFTER_METRICS_BEFORE_CHECKPOINT : Moment.BEFORE_ITS_STEP_METRICS;
  }

  private static List<Path> tmpDirs(CheckpointStore store) throws IOException {
    List<Path> dirs = new ArrayList<>();
    if (Files.isDirectory(store.root())) {
      try (DirectoryStream<Path> tmp = Files.newDirectoryStream(store.root(), ".tmp-step-*")) {
        tmp.forEach(dirs::add);
      }
    }
    return dirs;
  }

  private static Map<Long, Double> lossesByStep(Path metrics) {
    Map<Long, Double> losses = new HashMap<>();
    for (StepMetrics m : MetricsWriter.readAll(metrics)) {
      losses.put(m.step(), m.loss());
    }
    return losses;
  }

  private static void assertBits(String what, double expected, double actual) {
    if (Double.doubleToLongBits(expected) != Double.doubleToLongBits(actual)) {
      fail(what + ": loss " + expected + " vs " + actual + " (must be identical)");
    }
  }
}

package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.transforms.UserError;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Where a {@link TrainingSession} starts. Everything — step, tokens seen, data position, retraining
 * offset, and with the step the dropout RNG (the engine keys dropout on seed and step) — comes from
 * one checkpoint manifest, loaded together with that checkpoint's adapters and AdamW moments, so a
 * session never mixes two points in time:
 *
 * <ul>
 *   <li>the run already committed a checkpoint (a runner retry or a new DoFn instance): the latest
 *       complete checkpoint; the steps after it are trained again;
 *   <li>{@code --resume}: the latest complete checkpoint, if any;
 *   <li>otherwise step 0 with freshly initialised adapters.
 * </ul>
 *
 * The checkpoint's data identity decides the position: the same identity continues at its next
 * batch; another one starts the new data at its first batch with the step count kept.
 */
final class SessionRestore {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SessionRestore() {}

  /** @param checkpointIndex data position (next batch) at the restored checkpoint, in this data's plan */
  record Restored(TrainingSession.Position position, @Nullable Path checkpoint, long checkpointIndex) {}

  static Restored restore(TrainConfig config, DataIdentity identity, CheckpointStore store,
      @Nullable Path committed, Engine engine) {
    if (committed == null && !config.resume()) {
      return new Restored(new TrainingSession.Position(0, 0, 0, 0), null, 0);
    }
    Optional<CheckpointStore.Checkpoint> latest = store.latest();
    if (latest.isEmpty()) {
      if (committed != null) {
        throw new IllegalStateException("this run committed checkpoint " + committed
            + " but no complete checkpoint is left under " + store.root() + " to restart from");
      }
      ProgressReporter.printLine("--resume: no complete checkpoint under " + config.adapterPath() + "; starting from step 0");
      return new Restored(new TrainingSession.Position(0, 0, 0, 0), null, 0);
    }
    CheckpointStore.Checkpoint checkpoint = latest.get();
    CheckpointStore.Manifest m = checkpoint.manifest();
    try {
      config.checkResumableFrom(TrainConfig.fromJson(m.config()));
    } catch (IllegalArgumentException e) {
      throw new UserError("--resume: " + checkpoint.dir() + " cannot continue with these flags: " + e.getMessage(), e);
    }
    engine.loadAdapters(checkpoint.dir());
    engine.loadOptimizerState(checkpoint.dir().resolve(CheckpointStore.OPTIMIZER_FILE));
    String changed = identity.differences(m.dataFingerprint());
    TrainingSession.Position position = changed.isEmpty()
        ? new TrainingSession.Position(m.step(), m.tokensSeen(), m.nextIndex(), m.stepOffset())
        : new TrainingSession.Position(m.step(), m.tokensSeen(), 0, m.step());
    ProgressReporter.printLine(String.format("%s from %s at step %d (%s)",
        committed == null ? "Resumed" : "Restarted", checkpoint.dir(), m.step(),
        changed.isEmpty()
            ? "same data: continuing at batch " + m.nextIndex()
            : "new data: " + changed + "; training on it from its first batch"));
    dropMetricsAfter(config.resolvedMetricsFile(), m.step());
    return new Restored(position, checkpoint.dir(), position.nextIndex());
  }

  /**
   * Removes metrics lines of steps after {@code step} (they are trained again), and a torn last
   * line; written to a temp file and moved, so the file is never half-rewritten.
   */
  static void dropMetricsAfter(Path metrics, long step) {
    if (!Files.isRegularFile(metrics)) {
      return;
    }
    Path tmp = metrics.resolveSibling("." + metrics.getFileName() + ".tmp");
    boolean dropped = false;
    try (BufferedReader in = Files.newBufferedReader(metrics, StandardCharsets.UTF_8);
        BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null; ) {
        long s = stepOf(line);
        if (s >= 1 && s <= step) {
          out.write(line);
          out.write('\n');
        } else {
          dropped = true;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rewrite " + metrics, e);
    }
    try {
      if (dropped) {
        Files.move(tmp, metrics, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } else {
        Files.delete(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot replace " + metrics, e);
    }
  }

  private static long stepOf(String line) {
    try {
      JsonNode node = JSON.readTree(line);
      return node == null ? -1 : node.path("step").asLong(-1);
    } catch (IOException e) {
      return -1;  // a line torn by a kill
    }
  }
}

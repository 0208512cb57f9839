package dev.lorabeam.pipeline.train;

import dev.lorabeam.transforms.UserError;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * A checkpoint that could not be written (a full disk, most often), said once: the path, why (with
 * errno from the engine's native writer), the bytes a checkpoint needs and the bytes free, and the
 * checkpoint that is still the latest — the one {@code --resume} takes.
 */
final class CheckpointWriteFailure {
  /** Headers, adapter_config.json and manifest.json on top of the tensors, bytes (generous). */
  private static final long SMALL_FILES = 64 * 1024;

  private CheckpointWriteFailure() {}

  /**
   * Bytes one checkpoint takes for {@code trainableParams} float32 LoRA values: adapters (4 bytes
   * each), AdamW m and v (8), and the copy of the adapters published beside the checkpoints (4).
   */
  static long bytesNeeded(long trainableParams) {
    return 16 * trainableParams + SMALL_FILES;
  }

  static UserError explain(CheckpointStore store, long step, long bytesNeeded, RuntimeException e) {
    long free = DurableFiles.usableSpace(store.root());
    return new UserError(String.format(
        "cannot write the checkpoint of step %d under %s: %s. A checkpoint needs about %s; %s. %s "
            + "Free some space (or point --adapter-path at a larger disk), then run again with --resume.",
        step, store.root(), reason(e), bytes(bytesNeeded), free < 0 ? "free space unknown" : bytes(free) + " free there",
        stillLatest(store, step)), e);
  }

  private static String stillLatest(CheckpointStore store, long step) {
    Optional<CheckpointStore.Checkpoint> latest;
    try {
      latest = store.latest();
    } catch (RuntimeException unreadable) {
      return "The checkpoints directory cannot be read now (" + unreadable.getMessage() + ").";
    }
    if (latest.isEmpty()) {
      return "There is no earlier checkpoint: --resume would start from step 0.";
    }
    Path dir = latest.get().dir();
    return latest.get().step() == step
        ? "The checkpoint itself is complete (" + dir + "); only publishing its adapters failed."
        : "Nothing of step " + step + " was kept: the latest checkpoint is still " + dir + " (step "
            + latest.get().step() + ", verified), which --resume continues from.";
  }

  /** The messages of the cause chain, each once (the engine's names errno and the byte counts). */
  private static String reason(Throwable e) {
    Set<String> parts = new LinkedHashSet<>();
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && parts.stream().noneMatch(p -> p.contains(m))) {
        parts.add(m);
      }
    }
    return String.join(": ", parts);
  }

  private static String bytes(long n) {
    return n < 1_000_000 ? n + " bytes" : String.format("%.1f MB (%d bytes)", n / 1e6, n);
  }
}

package dev.lorabeam.pipeline.train;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the data of a run is, for {@code --resume}: the block set's content fingerprint plus the
 * order parameters (seed, rows per optimizer step), which together fix every batch. Stored in each
 * checkpoint manifest as {@code blocks=<sha256>;seed=<n>;rows=<n>}. Same identity → the run
 * continues exactly where it stopped; any difference → new data, trained from its first batch.
 *
 * @param blocks SHA-256 of the block set (the manifest's {@code block_set_fingerprint})
 * @param seed {@code --seed}
 * @param rowsPerStep {@code --batch-size × --grad-accumulation}
 */
record DataIdentity(String blocks, long seed, int rowsPerStep) implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern FORMAT = Pattern.compile("blocks=([0-9a-f]+);seed=(-?\\d+);rows=(\\d+)");

  /** The form written into checkpoint manifests. */
  @Override
  public String toString() {
    return "blocks=" + blocks + ";seed=" + seed + ";rows=" + rowsPerStep;
  }

  /** Parses {@link #toString}; anything else (a checkpoint from before this format) is null. */
  static DataIdentity parse(String s) {
    Matcher m = s == null ? null : FORMAT.matcher(s);
    if (m == null || !m.matches()) {
      return null;
    }
    return new DataIdentity(m.group(1), Long.parseLong(m.group(2)), Integer.parseInt(m.group(3)));
  }

  /** Why {@code saved} (a checkpoint's identity string) is other data than this, or "" when it is the same. */
  String differences(String saved) {
    DataIdentity old = parse(saved);
    if (old == null) {
      return "the checkpoint records no block-set fingerprint (" + saved + ")";
    }
    List<String> why = new ArrayList<>();
    if (!old.blocks.equals(blocks)) {
      why.add("the blocks changed (" + old.blocks.substring(0, 12) + "… → " + blocks.substring(0, 12) + "…)");
    }
    if (old.seed != seed) {
      why.add("--seed " + old.seed + " → " + seed);
    }
    if (old.rowsPerStep != rowsPerStep) {
      why.add("rows per step " + old.rowsPerStep + " → " + rowsPerStep + " (--batch-size × --grad-accumulation)");
    }
    return String.join(", ", why);
  }
}

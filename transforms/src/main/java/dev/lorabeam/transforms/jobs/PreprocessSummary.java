package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.read.BadRowReport;

import java.util.List;

/** What {@link PreprocessJob} did, per split, with the numbers users and benchmarks want. */
public record PreprocessSummary(String output, String tokenizer, int seqLength, List<Split> splits) {

  public PreprocessSummary {
    splits = List.copyOf(splits);
  }

  /**
   * @param bytesIn size of the input files
   * @param tokens tokens of all documents before packing
   * @param seconds time the pipeline ran, without building it
   */
  public record Split(String name, String dir, List<String> files, long bytesIn, BadRowReport rows,
      long tokens, PackSequences.Stats pack, double seconds) {

    public String describe() {
      return String.format("%s: %d rows (%s) -> %,d tokens -> %,d blocks of %d+1, "
              + "packing efficiency %.1f%%, %.1f s (%.2f MB/s, %,.0f tokens/s) -> %s",
          name, rows.total(), rows.summary(), tokens, pack.blocks(),
          pack.blocks() == 0 ? 0 : pack.targetSlots() / pack.blocks(),
          100 * pack.efficiency(), seconds, bytesIn / 1e6 / seconds, tokens / seconds, dir);
    }
  }

  public Split split(String name) {
    return splits.stream().filter(s -> s.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no split " + name));
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("preprocessed with " + tokenizer + ", T=" + seqLength);
    splits.forEach(s -> sb.append("\n  ").append(s.describe()));
    return sb.toString();
  }
}

package dev.lorabeam.transforms.render;

import dev.lorabeam.transforms.read.Example;
import dev.lorabeam.transforms.read.ExampleParser;
import dev.lorabeam.transforms.read.LineReader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.SerializableFunction;

/**
 * Empirical distrust on the data side: {@code L_emp = α · (ln(1 − w_auth + 1e-8) + H_prov)²} per
 * annotated row, its mean over the valid annotated rows of the training files (streamed through
 * Beam's FileSystems, one line at a time), and the {@code weighted} per-example weight
 * L_emp / mean L_emp (1 for rows without annotations).
 */
public final class DistrustWeights {
  private static final double EPS = 1e-8;

  private DistrustWeights() {}

  /** {@code α · (ln(1 − w + 1e-8) + H)²}; the parser has already range-checked w and H. */
  public static double empirical(double authWeight, double provEntropy, double alpha) {
    double inner = Math.log(1 - authWeight + EPS) + provEntropy;
    return alpha * inner * inner;
  }

  /** Mean L_emp over rows the parser accepts that carry both annotations; 0 when none do. */
  public static double meanEmpirical(List<String> files, double alpha, int maxRowBytes)
      throws IOException {
    ExampleParser parser = new ExampleParser(maxRowBytes);
    double sum = 0;
    long count = 0;
    for (MatchResult.Metadata m : FileSystems.match(files).stream()
        .flatMap(r -> metadata(r).stream()).toList()) {
      String name = m.resourceId().toString();
      try (InputStream in = new BufferedInputStream(
          Channels.newInputStream(FileSystems.open(m.resourceId())), 1 << 16)) {
        LineReader lines = new LineReader(in, maxRowBytes + 1);
        for (long line = 1; lines.next(); line++) {
          Example e = parser.parse(name, line, lines.bytes(), lines.fullLength()).example();
          if (e != null && e.authWeight() != null && e.provEntropy() != null) {
            sum += empirical(e.authWeight(), e.provEntropy(), alpha);
            count++;
          }
        }
      }
    }
    return count == 0 ? 0 : sum / count;
  }

  private static List<MatchResult.Metadata> metadata(MatchResult r) {
    try {
      return r.metadata();
    } catch (IOException e) {
      throw new IllegalArgumentException("--data matches no files: " + e.getMessage(), e);
    }
  }

  /** The {@code weighted} mode's per-example factor; mean 1 over the annotated rows. */
  public record ExampleWeight(double alpha, double meanLemp)
      implements SerializableFunction<Example, Double> {
    @Override
    public Double apply(Example example) {
      if (example.authWeight() == null || example.provEntropy() == null || meanLemp <= 0) {
        return 1.0;
      }
      return empirical(example.authWeight(), example.provEntropy(), alpha) / meanLemp;
    }
  }
}

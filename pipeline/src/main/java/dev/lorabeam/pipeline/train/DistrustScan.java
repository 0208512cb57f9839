package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Mean empirical-distrust term L_emp over the annotated training rows, read once before the
 * pipeline starts (only {@code auth_weight} and {@code prov_entropy} are looked at; malformed rows
 * are left to ReadExamples, which reports them). The mean normalises {@code weighted} to mean 1 and
 * is the data term that {@code additive} adds to the reported loss.
 */
final class DistrustScan {
  private DistrustScan() {}

  static double meanEmpirical(TrainConfig config, TrainData data) {
    if ("off".equals(config.distrust()) || data.shards() != null) {
      return 0;
    }
    ObjectMapper json = new ObjectMapper();
    double sum = 0;
    long count = 0;
    try (var files = data.trainFiles()) {
      for (Iterator<Path> it = files.iterator(); it.hasNext(); ) {
        try (BufferedReader reader = Files.newBufferedReader(it.next(), StandardCharsets.UTF_8)) {
          for (String line; (line = reader.readLine()) != null; ) {
            double lemp = lemp(json, line, config.alpha());
            if (!Double.isNaN(lemp)) {
              sum += lemp;
              count++;
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return count == 0 ? 0 : sum / count;
  }

  private static double lemp(ObjectMapper json, String line, double alpha) {
    try {
      JsonNode row = json.readTree(line);
      JsonNode w = row == null ? null : row.get("auth_weight");
      JsonNode h = row == null ? null : row.get("prov_entropy");
      if (w == null || h == null || !w.isNumber() || !h.isNumber()) {
        return Double.NaN;
      }
      return Distrust.empirical(w.asDouble(), h.asDouble(), alpha);
    } catch (IOException | IllegalArgumentException e) {
      return Double.NaN;
    }
  }
}

package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The metrics file: one JSON object per step with the snake_case keys users' scripts read. */
public class MetricsWriterTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  static StepMetrics metrics(long step, double loss, Double val) {
    return new StepMetrics(step, loss + 0.5, loss + 0.6, 5e-5, step * 1.5, 3.4, 5.6,
        "2026-11-25T14:00:00Z", 412, step * 1000, val, loss, 0.5, loss + 0.5);
  }

  @Test
  public void linesHaveExactlyTheDocumentedKeysInOrder() throws Exception {
    Path file = folder.getRoot().toPath().resolve("sub/metrics.jsonl");
    try (MetricsWriter w = new MetricsWriter(file, false)) {
      w.write(metrics(1, 2.0, null));
      w.write(metrics(2, 1.5, 1.75));
    }
    List<String> lines = Files.readAllLines(file);
    assertEquals(2, lines.size());
    ObjectMapper json = new ObjectMapper();
    assertEquals(List.of("step", "loss", "avg_loss", "lr", "elapsed_secs", "memory_gb", "timestamp",
        "tokens_per_sec", "rss_gb", "ce", "distrust", "total"), keys(json.readTree(lines.get(0))));
    assertEquals(List.of("step", "loss", "avg_loss", "lr", "elapsed_secs", "memory_gb", "timestamp",
        "tokens_per_sec", "rss_gb", "val_loss", "ce", "distrust", "total"), keys(json.readTree(lines.get(1))));
    JsonNode second = json.readTree(lines.get(1));
    assertEquals(2, second.get("step").asLong());
    assertEquals(2.0, second.get("loss").asDouble(), 0);
    assertEquals(1.75, second.get("val_loss").asDouble(), 0);
    assertEquals(5e-5, second.get("lr").asDouble(), 0);
    assertEquals("2026-11-25T14:00:00Z", second.get("timestamp").asText());
    assertFalse(lines.get(0).contains("val_loss"));
  }

  @Test
  public void appendKeepsEarlierLinesAndReadAllTakesTheLastLinePerStepSkippingACutLine() throws Exception {
    Path file = folder.getRoot().toPath().resolve("metrics.jsonl");
    try (MetricsWriter w = new MetricsWriter(file, false)) {
      w.write(metrics(1, 2.0, null));
      w.write(metrics(2, 1.9, null));
    }
    Files.writeString(file, "{\"step\": 3, \"loss\"", java.nio.file.StandardOpenOption.APPEND);
    // A run killed mid-line, then resumed: the new lines must not be glued to the cut one.
    try (MetricsWriter w = new MetricsWriter(file, true)) {
      w.write(metrics(2, 1.8, 1.7));
      w.write(metrics(3, 1.6, null));
    }
    List<StepMetrics> all = MetricsWriter.readAll(file);
    assertEquals(3, all.size());
    assertEquals(2.3, all.get(1).loss(), 1e-12);
    assertEquals(1.7, all.get(1).valLoss(), 0);
    assertNull(all.get(2).valLoss());
  }

  @Test
  public void aLineParsesBackToTheSameValues() {
    StepMetrics m = metrics(5, 1.25, 1.5);
    StepMetrics back = MetricsWriter.fromJson(MetricsWriter.toJson(m));
    assertEquals(m.step(), back.step());
    assertEquals(m.loss(), back.loss(), 0);
    assertEquals(m.avgLoss(), back.avgLoss(), 0);
    assertEquals(m.valLoss(), back.valLoss());
    assertEquals(m.memoryGb(), back.memoryGb(), 0);
    assertEquals(m.rssGb(), back.rssGb(), 0);
    assertEquals(m.ce(), back.ce(), 0);
    assertEquals(m.distrust(), back.distrust(), 0);
    assertEquals(m.total(), back.total(), 0);
    assertTrue(back.timestamp().startsWith("2026-11-25T14"));
  }

  private static List<String> keys(JsonNode node) {
    List<String> keys = new ArrayList<>();
    node.fieldNames().forEachRemaining(keys::add);
    return keys;
  }
}

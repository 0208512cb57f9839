package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes {@link StepMetrics} as JSON lines with the keys users' scripts read: {@code step, loss,
 * avg_loss, lr, elapsed_secs, memory_gb, timestamp} (the old tool's; {@code memory_gb} is the step's MLX
 * peak), plus {@code tokens_per_sec}, {@code rss_gb} (process resident memory), {@code val_loss} (only on
 * steps that evaluated), {@code ce}, {@code distrust} and {@code total}.
 * Each line is flushed as it is written, so the file is readable while training runs.
 */
public final class MetricsWriter implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final BufferedWriter out;

  /**
   * Opens {@code file}, creating its directory. {@code append} keeps earlier lines (resume);
   * otherwise the file starts empty.
   */
  public MetricsWriter(Path file, boolean append) {
    this.file = file;
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      this.out = append
          ? Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
              StandardOpenOption.WRITE, StandardOpenOption.APPEND)
          : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
      if (append && endsMidLine(file)) {
        out.newLine();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the metrics file " + file
          + " (--metrics-file): check that its directory is writable", e);
    }
  }

  /** True when a killed run left a last line without its newline. */
  private static boolean endsMidLine(Path file) throws IOException {
    try (SeekableByteChannel channel = Files.newByteChannel(file)) {
      if (channel.size() == 0) {
        return false;
      }
      ByteBuffer last = ByteBuffer.allocate(1);
      channel.position(channel.size() - 1).read(last);
      return last.get(0) != '\n';
    }
  }

  public Path file() {
    return file;
  }

  public synchronized void write(StepMetrics m) {
    try {
      out.write(toJson(m));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to the metrics file " + file, e);
    }
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close the metrics file " + file, e);
    }
  }

  /** One JSONL line (no newline), keys in the order above. */
  public static String toJson(StepMetrics m) {
    ObjectNode node = JSON.createObjectNode();
    node.put("step", m.step());
    node.put("loss", m.loss());
    node.put("avg_loss", m.avgLoss());
    node.put("lr", m.lr());
    node.put("elapsed_secs", m.elapsedSecs());
    node.put("memory_gb", m.memoryGb());
    node.put("timestamp", m.timestamp());
    node.put("tokens_per_sec", m.tokensPerSec());
    node.put("rss_gb", m.rssGb());
    if (m.valLoss() != null) {
      node.put("val_loss", m.valLoss());
    }
    node.put("ce", m.ce());
    node.put("distrust", m.distrust());
    node.put("total", m.total());
    return node.toString();
  }

  /** Parses a line written by {@link #toJson}; {@code trainedTokens} is not in the file (0). */
  public static StepMetrics fromJson(String line) {
    try {
      JsonNode n = JSON.readTree(line);
      JsonNode val = n.get("val_loss");
      return new StepMetrics(n.get("step").asLong(), n.get("loss").asDouble(),
          n.get("avg_loss").asDouble(), n.get("lr").asDouble(), n.get("elapsed_secs").asDouble(),
          n.get("memory_gb").asDouble(), n.path("rss_gb").asDouble(-1), n.get("timestamp").asText(),
          n.path("tokens_per_sec").asDouble(), 0, val == null || val.isNull() ? null : val.asDouble(),
          n.path("ce").asDouble(n.get("loss").asDouble()), n.path("distrust").asDouble(),
          n.path("total").asDouble(n.get("loss").asDouble()));
    } catch (IOException | NullPointerException e) {
      throw new IllegalArgumentException("not a metrics line: " + line, e);
    }
  }

  /**
   * Every step in a metrics file, in step order. A resumed run rewrites the steps after its
   * checkpoint, so the last line for a step wins; a line cut short by a crash is skipped.
   */
  public static List<StepMetrics> readAll(Path file) {
    Map<Long, StepMetrics> byStep = new TreeMap<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        try {
          StepMetrics m = fromJson(line);
          byStep.put(m.step(), m);
        } catch (IllegalArgumentException partial) {
          // A half-written line from a killed run: the step is rewritten after resume.
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read metrics file " + file, e);
    }
    return new ArrayList<>(byStep.values());
  }
}

package dev.lorabeam.pipeline.train;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The loss curve of a run as a PNG: train loss per step, its running average, and the validation
 * losses as points. Rendered headless (no display needed) with XChart.
 */
public final class LossChart {
  public static final int WIDTH = 900;
  public static final int HEIGHT = 540;

  static {
    // Must be set before the first AWT class loads; a CI machine or ssh session has no display.
    System.setProperty("java.awt.headless", "true");
  }

  private LossChart() {}

  /** Reads a metrics file ({@link MetricsWriter}) and writes its chart to {@code png}. */
  public static void write(Path metricsFile, Path png) {
    write(MetricsWriter.readAll(metricsFile), png);
  }

  /**
   * Writes the chart of {@code metrics} to {@code png} (temp file + rename, so a viewer never sees
   * half a picture).
   *
   * @throws IllegalArgumentException when there is no step to draw
   */
  public static void write(List<StepMetrics> metrics, Path png) {
    if (metrics.isEmpty()) {
      throw new IllegalArgumentException("no training steps to chart (the metrics are empty)");
    }
    XYChart chart = chart(metrics);
    Path tmp = png.resolveSibling(".tmp-" + png.getFileName() + "-" + UUID.randomUUID());
    try {
      Path parent = png.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try (OutputStream out = Files.newOutputStream(tmp)) {
        BitmapEncoder.saveBitmap(chart, out, BitmapFormat.PNG);
      }
      DurableFiles.move(tmp, png);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the loss chart " + png, e);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // Only a leftover temp file; the chart itself was written or the error reported.
      }
    }
  }

  static XYChart chart(List<StepMetrics> metrics) {
    XYChart chart = new XYChartBuilder()
        .width(WIDTH).height(HEIGHT)
        .title("Training loss")
        .xAxisTitle("step").yAxisTitle("loss")
        .build();
    chart.getStyler().setMarkerSize(7);
    List<Double> steps = new ArrayList<>();
    List<Double> loss = new ArrayList<>();
    List<Double> avg = new ArrayList<>();
    List<Double> valSteps = new ArrayList<>();
    List<Double> val = new ArrayList<>();
    for (StepMetrics m : metrics) {
      if (Double.isFinite(m.loss())) {
        steps.add((double) m.step());
        loss.add(m.loss());
        avg.add(m.avgLoss());
      }
      if (m.valLoss() != null && Double.isFinite(m.valLoss())) {
        valSteps.add((double) m.step());
        val.add(m.valLoss());
      }
    }
    if (!steps.isEmpty()) {
      chart.addSeries("train loss", steps, loss).setMarker(SeriesMarkers.NONE);
      chart.addSeries("avg loss", steps, avg).setMarker(SeriesMarkers.NONE);
    }
    if (!val.isEmpty()) {
      XYSeries s = chart.addSeries("val loss", valSteps, val);
      s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    return chart;
  }
}

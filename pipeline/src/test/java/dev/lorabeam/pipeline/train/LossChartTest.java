package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The loss curve is a real PNG, drawn without a display, from the metrics or the metrics file. */
public class LossChartTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void writesANonEmptyPngOfTheExpectedSize() throws Exception {
    List<StepMetrics> steps = new ArrayList<>();
    for (long s = 1; s <= 60; s++) {
      steps.add(MetricsWriterTest.metrics(s, 3.0 / Math.sqrt(s), s % 20 == 0 ? 2.5 / Math.sqrt(s) : null));
    }
    Path png = folder.getRoot().toPath().resolve("out/loss.png");
    LossChart.write(steps, png);
    assertTrue(Files.size(png) > 1000);
    byte[] magic = Arrays.copyOf(Files.readAllBytes(png), 4);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, magic);
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(LossChart.WIDTH, image.getWidth());
    assertEquals(LossChart.HEIGHT, image.getHeight());
    assertEquals(3, LossChart.chart(steps).getSeriesMap().size());
  }

  @Test
  public void drawsFromAMetricsFile() throws Exception {
    Path metrics = folder.getRoot().toPath().resolve("metrics.jsonl");
    try (MetricsWriter w = new MetricsWriter(metrics, false)) {
      w.write(MetricsWriterTest.metrics(1, 2.0, null));
      w.write(MetricsWriterTest.metrics(2, 1.5, 1.6));
    }
    Path png = folder.getRoot().toPath().resolve("loss.png");
    LossChart.write(metrics, png);
    assertTrue(Files.size(png) > 0);
  }

  @Test
  public void noStepsIsAClearError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LossChart.write(List.of(), folder.getRoot().toPath().resolve("x.png")));
    assertTrue(e.getMessage().contains("no training steps to chart"));
  }
}

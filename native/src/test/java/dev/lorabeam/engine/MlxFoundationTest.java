package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

/** The first real calls into MLX through the JavaCPP bridge. A missing MLX fails here, never skips. */
public class MlxFoundationTest {

  @Test
  public void reportsThePinnedMlxVersion() {
    assertEquals("0.32.4", Mlx.version());
  }

  @Test
  public void reportsTheDefaultDevice() {
    String json = Mlx.deviceInfoJson();
    assertTrue(json, json.startsWith("{\"type\":\""));
    String os = System.getProperty("os.name").toLowerCase();
    if (os.contains("linux")) {
      assertTrue("the mlx[cpu] wheel runs on the CPU: " + json, json.contains("\"type\":\"cpu\""));
    }
  }

  @Test
  public void matmulOfRandomMatricesMatchesPlainJavaWithin1e4Relative() {
    Random random = new Random(7);
    int m = 67, k = 129, n = 33;
    float[] a = randomMatrix(random, m * k);
    float[] b = randomMatrix(random, k * n);
    float[] got = Mlx.matmul(a, m, k, b, k, n);
    double worst = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double expected = 0;
        double scale = 0;
        for (int p = 0; p < k; p++) {
          expected += (double) a[i * k + p] * b[p * n + j];
          scale += Math.abs((double) a[i * k + p] * b[p * n + j]);
        }
        worst = Math.max(worst, Math.abs(got[i * n + j] - expected) / Math.max(scale, 1e-12));
      }
    }
    assertTrue("max relative error " + worst, worst <= 1e-4);
  }

  @Test
  public void mismatchedShapesRaiseAJavaExceptionWithMlxsMessage() {
    float[] a = new float[2 * 3];
    float[] b = new float[4 * 5];
    MlxException e = assertThrows(MlxException.class, () -> Mlx.matmul(a, 2, 3, b, 4, 5));
    assertTrue(e.getMessage(), e.getMessage().startsWith("matmul failed: "));
    assertTrue(e.getMessage(), e.getMessage().contains("(2,3)") && e.getMessage().contains("(4,5)"));
    // The JVM and MLX live on: the next call works.
    assertEquals(1, Mlx.matmul(new float[] {1f}, 1, 1, new float[] {1f}, 1, 1).length);
  }

  @Test
  public void memoryLimitRoundTrips() {
    long original = Mlx.memoryLimit();
    long wanted = 3L << 30;
    try {
      assertEquals(original, Mlx.setMemoryLimit(wanted));
      assertEquals(wanted, Mlx.memoryLimit());
    } finally {
      Mlx.setMemoryLimit(original);
    }
    assertEquals(original, Mlx.memoryLimit());
  }

  @Test
  public void memoryStatisticsTrackWorkAndClearCacheEmptiesTheCache() {
    Mlx.resetPeakMemory();
    float[] a = new float[512 * 512];
    Mlx.matmul(a, 512, 512, a, 512, 512);
    assertTrue("peak after a 1 MiB product: " + Mlx.peakMemory(), Mlx.peakMemory() >= 512L * 512 * 4);
    assertTrue(Mlx.activeMemory() >= 0);
    Mlx.clearCache();
    assertEquals(0, Mlx.cacheMemory());
    long previous = Mlx.setCacheLimit(1L << 20);
    Mlx.setCacheLimit(previous);
  }

  private static float[] randomMatrix(Random random, int size) {
    float[] values = new float[size];
    for (int i = 0; i < size; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }
}

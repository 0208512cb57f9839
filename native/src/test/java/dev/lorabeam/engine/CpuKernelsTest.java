package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import org.junit.Test;

/**
 * The engine's own float32 exp, sigmoid, softmax (plain, causal, with masked entries) and log-sum-exp
 * kernels for MLX's CPU backend, values and VJPs against the same op in double precision and
 * against MLX's op. Tolerances: the exp within 2 ulp of exact; softmax-like values within 4e-6
 * relative of exact, the float32 rounding of x − max (|x − max| ≤ 40 here, × 6e-8) being most of it —
 * MLX's own softmax is 5.5e-6 from exact on such rows and its exp up to 3.9e-6 (64 ulp), so against
 * MLX 1e-5; VJPs within 1e-5 of their largest entry from exact, and 1e-3 from MLX's (its log-sum-exp
 * VJP is exp(x − lse) with a float32 lse, which at a logit of 1e4 is rounded by 1e-3). Each test
 * prints its largest differences.
 */
public class CpuKernelsTest {
  private static final float MASKED = -Float.MAX_VALUE;  // what a bool mask puts in (finfo.min)
  private static final double VS_EXACT = 4e-6, VS_MLX = 1e-5, VJP_VS_EXACT = 1e-5, VJP_VS_MLX = 1e-3;

  @Test
  public void expIsWithinTwoUlpOfDoubleExpAndMatchesMlxWithin1e6() {
    int n = 200_003;  // not a multiple of any vector width
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = -87.3f + 175.9f * i / (n - 1);
    }
    float[] fast = Mlx.cpuKernel("exp", true, x, 1, n, null)[0];
    float[] mlx = Mlx.cpuKernel("exp", false, x, 1, n, null)[0];
    double worstUlp = 0, worstVsMlx = 0;
    for (int i = 0; i < n; i++) {
      float exact = (float) Math.exp(x[i]);
      worstUlp = Math.max(worstUlp, Math.abs(fast[i] - Math.exp(x[i])) / Math.ulp(exact));
      if (x[i] <= 88f) {  // mx.exp saturates to inf above 88, exp(88.72) is FLT_MAX
        worstVsMlx = Math.max(worstVsMlx, Math.abs(fast[i] - mlx[i]) / Math.max(mlx[i], Float.MIN_NORMAL));
      }
    }
    System.out.printf("exp: max %.2f ulp vs double exp, max relative %.2e vs mx.exp%n", worstUlp, worstVsMlx);
    assertTrue("max ulp error " + worstUlp, worstUlp <= 2.0);
    assertTrue("max relative difference to mx.exp " + worstVsMlx, worstVsMlx <= VS_MLX);
  }

  @Test
  public void expOfSpecialValuesIsWhatMlxGives() {
    float[] x = {Float.NEGATIVE_INFINITY, -100f, MASKED, 0f, 100f, Float.POSITIVE_INFINITY, Float.NaN, 88.5f};
    float[] fast = Mlx.cpuKernel("exp", true, x, 1, x.length, null)[0];
    float[] mlx = Mlx.cpuKernel("exp", false, x, 1, x.length, null)[0];
    for (int i = 0; i < x.length - 1; i++) {
      assertEquals("exp(" + x[i] + ")", mlx[i], fast[i], 0f);
    }
    assertEquals("exp(88.5) is finite", Math.exp(88.5), fast[7], 2 * Math.ulp(fast[7]));
  }

  @Test
  public void sigmoidAndItsVjpMatchMlx() {
    Random random = new Random(1);
    int rows = 33, cols = 1537;
    float[] x = gaussian(random, rows * cols, 8f);
    compare("sigmoid", x, rows, cols, gaussian(random, rows * cols, 1f));
  }

  @Test
  public void softmaxWithMaskedEntriesAndItsVjpMatchMlx() {
    Random random = new Random(2);
    int rows = 37, cols = 1000;
    float[] x = gaussian(random, rows * cols, 5f);
    for (int r = 0; r < rows; r += 3) {  // masked entries as a bool mask writes them
      for (int c = r; c < cols; c += 2) {
        x[r * cols + c] = MASKED;
      }
    }
    for (int c = 1; c < cols; c++) {  // a padding row: only its own position is visible
      x[cols + c] = MASKED;
    }
    float[][] fast = compare("softmax", x, rows, cols, gaussian(random, rows * cols, 1f));
    assertEquals("the padding row's one visible entry", 1f, fast[0][cols], 0f);
    for (int c = 1; c < cols; c++) {
      assertEquals("masked entries are exactly 0", 0f, fast[0][cols + c], 0f);
    }
  }

  @Test
  public void causalSoftmaxMatchesMlxsMaskedSoftmaxIncludingAKeyOffset() {
    Random random = new Random(3);
    for (int[] shape : new int[][] {{64, 64}, {17, 80}}) {
      int rows = shape[0], cols = shape[1];
      float[][] fast = compare("causal_softmax", gaussian(random, rows * cols, 4f), rows, cols,
          gaussian(random, rows * cols, 1f));
      for (int r = 0; r < rows; r++) {
        for (int c = r + cols - rows + 1; c < cols; c++) {
          assertEquals("future key " + c + " of query " + r, 0f, fast[0][r * cols + c], 0f);
          assertEquals("its gradient", 0f, fast[1][r * cols + c], 0f);
        }
      }
    }
  }

  /**
   * The engine runs a batch whose rows are one segment each through the causal kernel and any other
   * batch through a −inf mask and the plain kernel; a data-parallel rank and one process with
   * gradient accumulation can take different paths for the same rows, so the two must agree bit for
   * bit, values and gradients (they did not when the causal sum skipped the masked columns).
   */
  @Test
  public void causalSoftmaxIsBitIdenticalToTheMaskedRowSoftmaxedWhole() {
    Random random = new Random(6);
    int rows = 37, cols = 37;
    float[] x = gaussian(random, rows * cols, 4f);
    float[] g = gaussian(random, rows * cols, 1f);
    float[] masked = x.clone();
    for (int r = 0; r < rows; r++) {
      for (int c = r + 1; c < cols; c++) {
        masked[r * cols + c] = MASKED;
      }
    }
    float[][] causal = Mlx.cpuKernel("causal_softmax", true, x, rows, cols, g);
    float[][] whole = Mlx.cpuKernel("softmax", true, masked, rows, cols, g);
    for (int i = 0; i < rows * cols; i++) {
      assertEquals("value " + i, Float.floatToIntBits(whole[0][i]), Float.floatToIntBits(causal[0][i]));
      assertEquals("gradient " + i, Float.floatToIntBits(whole[1][i]), Float.floatToIntBits(causal[1][i]));
    }
  }

  @Test
  public void logSumExpOverAVocabularyAndItsVjpMatchMlx() {
    Random random = new Random(4);
    int rows = 24, cols = 49_152;
    float[] x = gaussian(random, rows * cols, 6f);
    x[5 * cols + 17] = 1e4f;  // one dominant logit: the max shift matters
    x[7 * cols + 3] = MASKED;
    compare("logsumexp", x, rows, cols, gaussian(random, rows, 1f));
  }

  // Fast kernel vs the double-precision op and vs MLX's op, values and VJPs. Value differences are
  // relative per element (to max(|ref|, FLT_MIN)), VJP differences relative to the largest exact
  // |VJP| entry. Returns the fast {output, VJP}.
  private static float[][] compare(String op, float[] x, int rows, int cols, float[] cotangent) {
    float[][] fast = Mlx.cpuKernel(op, true, x, rows, cols, cotangent);
    float[][] mlx = Mlx.cpuKernel(op, false, x, rows, cols, cotangent);
    double[] probs = softmaxRows(op, x, rows, cols);
    double[] exact = op.equals("sigmoid") ? sigmoid(x) : op.equals("logsumexp") ? logSumExp(x, rows, cols) : probs;
    double[] exactGrad = exactVjp(op, op.equals("sigmoid") ? exact : probs, rows, cols, cotangent);
    double vsExact = 0, vsMlx = 0, gradVsExact = 0, gradVsMlx = 0, gradScale = 0;
    for (int i = 0; i < exact.length; i++) {
      vsExact = Math.max(vsExact, Math.abs(fast[0][i] - exact[i]) / Math.max(Math.abs(exact[i]), Float.MIN_NORMAL));
      vsMlx = Math.max(vsMlx, Math.abs(fast[0][i] - mlx[0][i]) / Math.max(Math.abs(mlx[0][i]), Float.MIN_NORMAL));
    }
    for (int i = 0; i < exactGrad.length; i++) {
      gradScale = Math.max(gradScale, Math.abs(exactGrad[i]));
      gradVsExact = Math.max(gradVsExact, Math.abs(fast[1][i] - exactGrad[i]));
      gradVsMlx = Math.max(gradVsMlx, Math.abs(fast[1][i] - mlx[1][i]));
    }
    gradVsExact /= gradScale;
    gradVsMlx /= gradScale;
    System.out.printf("%s (%d, %d): values max relative %.2e vs double, %.2e vs MLX; VJP %.2e vs double, "
        + "%.2e vs MLX (of its largest entry)%n", op, rows, cols, vsExact, vsMlx, gradVsExact, gradVsMlx);
    assertTrue(op + " values: max relative difference to double " + vsExact, vsExact <= VS_EXACT);
    assertTrue(op + " values: max relative difference to MLX " + vsMlx, vsMlx <= VS_MLX);
    assertTrue(op + " VJP: max difference to double " + gradVsExact, gradVsExact <= VJP_VS_EXACT);
    assertTrue(op + " VJP: max difference to MLX " + gradVsMlx, gradVsMlx <= VJP_VS_MLX);
    return fast;
  }

  // The VJP of Σ g ⊙ op(x): sigmoid g·y·(1 − y) from y = σ(x); from p = softmax rows, softmax
  // p ⊙ (g − Σ g ⊙ p) and log-sum-exp g_r · p.
  private static double[] exactVjp(String op, double[] y, int rows, int cols, float[] g) {
    double[] out = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      double dot = 0;
      for (int c = 0; c < cols && op.contains("softmax"); c++) {
        dot += g[r * cols + c] * y[r * cols + c];
      }
      for (int c = 0; c < cols; c++) {
        int i = r * cols + c;
        out[i] = op.equals("sigmoid") ? g[i] * y[i] * (1 - y[i])
            : op.equals("logsumexp") ? g[r] * y[i] : y[i] * (g[i] - dot);
      }
    }
    return out;
  }

  private static double[] sigmoid(float[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = 1 / (1 + Math.exp(-(double) x[i]));
    }
    return out;
  }

  private static double[] logSumExp(float[] x, int rows, int cols) {
    double[] out = new double[rows];
    for (int r = 0; r < rows; r++) {
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int c = 0; c < cols; c++) {
        max = Math.max(max, x[r * cols + c]);
      }
      for (int c = 0; c < cols; c++) {
        sum += Math.exp(x[r * cols + c] - max);
      }
      out[r] = max + Math.log(sum);
    }
    return out;
  }

  // Softmax of each row in double (causal_softmax: row r sees its first r + cols − rows + 1 columns).
  private static double[] softmaxRows(String op, float[] x, int rows, int cols) {
    double[] out = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      int visible = op.equals("causal_softmax") ? r + cols - rows + 1 : cols;
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int c = 0; c < visible; c++) {
        max = Math.max(max, x[r * cols + c]);
      }
      for (int c = 0; c < visible; c++) {
        sum += Math.exp(x[r * cols + c] - max);
      }
      for (int c = 0; c < visible; c++) {
        out[r * cols + c] = Math.exp(x[r * cols + c] - max) / sum;
      }
    }
    return out;
  }

  private static float[] gaussian(Random random, int n, float scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) random.nextGaussian() * scale;
    }
    return x;
  }
}

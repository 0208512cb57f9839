package dev.lorabeam.engine;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * An mlx-community quantized directory (config "quantization", packed uint32 weights with
 * .scales/.biases) computes exactly what the same weights dequantized into a float32 directory do.
 */
public class QuantizedModelDirTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final int BITS = 4;
  private static final int GROUP = 64;

  @Test
  public void quantizedDirectoryMatchesItsDequantizedTwin() throws Exception {
    Map<String, int[]> shapes = new LinkedHashMap<>();
    Map<String, float[]> weights = TinyModels.tensors(9, TinyModels.FFN, false, false, shapes);
    Map<String, Object> quantized = new LinkedHashMap<>();
    Map<String, int[]> quantizedShapes = new LinkedHashMap<>();
    Map<String, float[]> dequantized = new LinkedHashMap<>(weights);
    Random random = new Random(10);
    for (Map.Entry<String, float[]> e : weights.entrySet()) {
      String name = e.getKey();
      int[] shape = shapes.get(name);
      boolean linear = name.startsWith("model.layers.") && name.endsWith("_proj.weight")
          || name.equals("model.embed_tokens.weight");
      if (!linear) {
        quantized.put(name, e.getValue());
        quantizedShapes.put(name, shape);
        continue;
      }
      String prefix = name.substring(0, name.length() - ".weight".length());
      int rows = shape[0];
      int cols = shape[1];
      int[] codes = new int[rows * cols];
      float[] scales = new float[rows * cols / GROUP];
      float[] biases = new float[rows * cols / GROUP];
      float[] values = new float[rows * cols];
      for (int g = 0; g < scales.length; g++) {
        scales[g] = 0.005f + 0.01f * random.nextFloat();
        biases[g] = -7.5f * scales[g];
      }
      for (int i = 0; i < codes.length; i++) {
        codes[i] = random.nextInt(1 << BITS);
        values[i] = codes[i] * scales[i / GROUP] + biases[i / GROUP];
      }
      quantized.put(name, pack(codes));
      quantizedShapes.put(name, new int[] {rows, cols * BITS / 32});
      quantized.put(prefix + ".scales", scales);
      quantizedShapes.put(prefix + ".scales", new int[] {rows, cols / GROUP});
      quantized.put(prefix + ".biases", biases);
      quantizedShapes.put(prefix + ".biases", new int[] {rows, cols / GROUP});
      dequantized.put(name, values);
    }
    Path qdir = write("q4", quantized, quantizedShapes,
        ", \"quantization\": {\"group_size\": " + GROUP + ", \"bits\": " + BITS + "}");
    Path fdir = write("f32", dequantized, shapes, "");

    Batch batch = TinyModels.countingBatch(new Random(11), 2, 24);
    try (Engine q = Engine.open(TinyModels.config(qdir)); Engine f = Engine.open(TinyModels.config(fdir))) {
      assertEquals("q4_g64", q.modelInfo().quantization());
      assertEquals(f.modelInfo().totalParams(), q.modelInfo().totalParams());
      double ql = q.evalLoss(batch).loss();
      double fl = f.evalLoss(batch).loss();
      float diff = TinyModels.maxAbsDiff(q.tokenLosses(batch), f.tokenLosses(batch));
      System.out.printf("quantized dir: loss %.7f vs dequantized twin %.7f, max token diff %.2e%n", ql, fl, diff);
      assertEquals(fl, ql, 1e-5);
      assertTrue("max token-loss diff " + diff, diff <= 1e-5);
      int[] prompt = {1, 2, 3, 4};
      assertEquals("greedy decoding (quantized_matmul path) agrees", java.util.Arrays.toString(f.generate(prompt, 5,
          0, 1, 0, null)), java.util.Arrays.toString(q.generate(prompt, 5, 0, 1, 0, null)));
    }
  }

  /** 32/BITS codes per uint32, the first in the lowest bits (MLX's affine packing). */
  private static int[] pack(int[] codes) {
    int per = 32 / BITS;
    int[] packed = new int[codes.length / per];
    for (int i = 0; i < codes.length; i++) {
      packed[i / per] |= codes[i] << (BITS * (i % per));
    }
    return packed;
  }

  private static Path write(String name, Map<String, ?> data, Map<String, int[]> shapes, String extra)
      throws Exception {
    Path dir = TMP.newFolder(name).toPath();
    TinyModels.writeSafetensors(dir.resolve("model.safetensors"), data, shapes);
    Files.writeString(dir.resolve("config.json"), TinyModels.config("llama", false, extra));
    return dir;
  }
}

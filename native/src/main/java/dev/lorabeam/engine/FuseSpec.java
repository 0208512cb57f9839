package dev.lorabeam.engine;

import java.nio.file.Path;
import java.util.Set;

/**
 * What {@link Fuser#fuse} writes: the base {@code model} (directory or .gguf) with the adapters in
 * {@code adapters} (null = none) merged in float32, as {@code dtype} safetensors in {@code output}
 * (one file up to {@code shardBytes}, shards above), dense when {@code dequantize}, re-quantized to
 * {@code quantizeBits} (0 = keep the base's quantization), and optionally a float16 GGUF with
 * {@code ggufMetadataJson} (typed tokenizer keys, see {@code fuse_write.cpp}) in its metadata.
 */
public record FuseSpec(Path model, Path adapters, Path output, String dtype, boolean dequantize, int quantizeBits,
    long shardBytes, Path gguf, String ggufMetadataJson) {
  /** Hugging Face's default shard size. */
  public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;
  private static final Set<String> DTYPES = Set.of("float32", "float16", "bfloat16");

  public FuseSpec {
    if (model == null || output == null) {
      throw new IllegalArgumentException("fuse needs a model and an output directory");
    }
    if (!DTYPES.contains(dtype)) {
      throw new IllegalArgumentException("dtype must be float32, float16 or bfloat16 (got " + dtype + ")");
    }
    if (quantizeBits != 0 && quantizeBits != 4 && quantizeBits != 8) {
      throw new IllegalArgumentException("quantize must be 4 or 8 bits (got " + quantizeBits + ")");
    }
    if (quantizeBits != 0 && dequantize) {
      throw new IllegalArgumentException("dequantize and quantize exclude each other: pick one output format");
    }
    if (shardBytes < 1) {
      throw new IllegalArgumentException("shardBytes must be ≥ 1 (got " + shardBytes + ")");
    }
  }

  /** Dense float32 output of {@code model} + {@code adapters}, no GGUF, default shard size. */
  public static FuseSpec of(Path model, Path adapters, Path output) {
    return new FuseSpec(model, adapters, output, "float32", false, 0, DEFAULT_SHARD_BYTES, null, null);
  }

  public FuseSpec withDtype(String newDtype) {
    return new FuseSpec(model, adapters, output, newDtype, dequantize, quantizeBits, shardBytes, gguf,
        ggufMetadataJson);
  }

  public FuseSpec withDequantize(boolean on) {
    return new FuseSpec(model, adapters, output, dtype, on, quantizeBits, shardBytes, gguf, ggufMetadataJson);
  }

  public FuseSpec withQuantizeBits(int bits) {
    return new FuseSpec(model, adapters, output, dtype, dequantize, bits, shardBytes, gguf, ggufMetadataJson);
  }

  public FuseSpec withShardBytes(long bytes) {
    return new FuseSpec(model, adapters, output, dtype, dequantize, quantizeBits, bytes, gguf, ggufMetadataJson);
  }

  public FuseSpec withGguf(Path file, String metadataJson) {
    return new FuseSpec(model, adapters, output, dtype, dequantize, quantizeBits, shardBytes, file, metadataJson);
  }
}

package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.FuseSpec;
import dev.lorabeam.engine.Fuser;
import dev.lorabeam.engine.MlxException;
import dev.lorabeam.pipeline.fuse.FusedTokenizerFiles;
import dev.lorabeam.pipeline.fuse.GgufTokenizerKeys;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fuse}: merge trained adapters into the base weights and write a Hugging Face directory
 * (and optionally a float16 GGUF). Everything is written into a hidden sibling directory and
 * renamed into place at the end, so a failed fuse never leaves a half-written model.
 */
@Command(
    name = "fuse",
    mixinStandardHelpOptions = true,
    defaultValueProvider = ConfigDefaults.class,
    description = "Merge LoRA adapters into the model (W' = W + scale·(A·B)ᵀ in float32) and write a Hugging Face "
        + "directory that mlx-lm and transformers load; optionally a float16 GGUF for llama.cpp.")
public final class FuseCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> DTYPES = Set.of("auto", "float32", "float16", "bfloat16");

  @Spec CommandSpec spec;

  @Mixin ConfigOption configFile;

  @Mixin ModelFlags model;

  @Mixin ModelFlags.Adapters adapters;

  @Option(names = "--output", required = true, description = "Directory to create (must not exist or be empty).")
  Path output;

  @Option(names = "--dequantize", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Write a quantized base (mlx-community 4-bit, GGUF Q4) as dense weights.")
  boolean dequantize;

  @Option(names = "--quantize", defaultValue = "0", description = "Quantize the fused Linears to 4 or 8 bits (affine, group 64, mlx-community layout).")
  int quantize;

  @Option(names = "--export-gguf", paramLabel = "FILE", description = "Also write a float16 GGUF (Llama-family) with tokenizer and chat template.")
  Path exportGguf;

  @Option(names = "--dtype", defaultValue = "auto", description = "float32, float16, bfloat16, or auto: the base's torch_dtype, float16 for quantized/GGUF bases (default: ${DEFAULT-VALUE}).")
  String dtype;

  @Option(names = "--shard-size", defaultValue = "5", description = "GB per safetensors file before sharding with model.safetensors.index.json (default: ${DEFAULT-VALUE}).")
  double shardSizeGb;

  @Override
  public Integer call() {
    validate();
    ResolvedModel base = model.resolve();
    Path target = output.toAbsolutePath().normalize();
    Path staging = target.resolveSibling("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    try {
      deleteTree(staging);
      Files.createDirectories(staging);
      FuseSpec fuse = new FuseSpec(base.path(), adapters.path(), staging, resolveDtype(base), dequantize, quantize,
          (long) (shardSizeGb * 1e9), exportGguf == null ? null : exportGguf.toAbsolutePath(),
          exportGguf == null ? null : ggufKeys(base));
      JsonNode report = Fuser.fuse(fuse);
      FusedTokenizerFiles.write(base, staging);
      if (Files.isDirectory(target)) {
        Files.delete(target);  // validate() checked it is empty
      }
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      summarize(report, target);
      return 0;
    } catch (MlxException e) {
      throw new UserError(e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("fuse could not write " + target + ": " + e.getMessage(), e);
    } finally {
      deleteTree(staging);
    }
  }

  private void validate() {
    ModelFlags.checkQuantize(quantize);
    if (quantize != 0 && dequantize) {
      throw new UserError("--dequantize and --quantize exclude each other: pick one output format");
    }
    if (!DTYPES.contains(dtype)) {
      throw new UserError("--dtype must be auto, float32, float16 or bfloat16 (got " + dtype + ")");
    }
    if (!(shardSizeGb > 0)) {
      throw new UserError("--shard-size must be > 0 GB (got " + shardSizeGb + ")");
    }
    if (exportGguf != null && !exportGguf.getFileName().toString().endsWith(".gguf")) {
      throw new UserError("--export-gguf must name a .gguf file (got " + exportGguf + ")");
    }
    adapters.check();
    if (Files.exists(output) && !isEmptyDirectory(output)) {
      throw new UserError("--output " + output + " already exists and is not empty; remove it or choose another");
    }
  }

  /** auto: the base's torch_dtype when it is a float type; float16 for GGUF and quantized bases. */
  private String resolveDtype(ResolvedModel base) throws IOException {
    if (!dtype.equals("auto")) {
      return dtype;
    }
    Path config = base.path().resolve("config.json");
    if (base.kind() == ResolvedModel.Kind.GGUF || !Files.isRegularFile(config)) {
      return "float16";
    }
    JsonNode c = JSON.readTree(config.toFile());
    String torch = c.path("torch_dtype").asText("float16");
    boolean quantizedBase = c.has("quantization") || c.has("quantization_config");
    return quantizedBase || !Set.of("float32", "float16", "bfloat16").contains(torch) ? "float16" : torch;
  }

  private static String ggufKeys(ResolvedModel base) throws IOException {
    if (base.kind() == ResolvedModel.Kind.GGUF) {
      return GgufTokenizerKeys.fromGguf(base.path());
    }
    return GgufTokenizerKeys.fromHfDir(base.path(), base.tokenizer(),
        GgufTokenizerKeys.configNumber(base.path(), "max_position_embeddings"),
        (int) GgufTokenizerKeys.configNumber(base.path(), "vocab_size"));
  }

  private void summarize(JsonNode report, Path target) {
    PrintWriter out = spec.commandLine().getOut();
    JsonNode q = report.get("quantization");
    out.printf("Fused %d adapted Linears into %s: %s, %.2f GB, %s%n", report.get("fused_linears").asInt(), target,
        String.join(", ", JSON.convertValue(report.get("files"), String[].class)), report.get("bytes").asLong() / 1e9,
        q.isNull() ? report.get("dtype").asText() : q.get("bits").asInt() + "-bit (group " + q.get("group_size").asInt()
            + ", " + report.get("dtype").asText() + " scales)");
    if (exportGguf != null) {
      out.printf("GGUF (float16, %d tensors): %s%n", report.get("gguf_tensors").asInt(), exportGguf.toAbsolutePath());
    }
    out.flush();
  }

  private static boolean isEmptyDirectory(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: a leftover hidden staging directory is harmless and named after this process
    }
  }
}

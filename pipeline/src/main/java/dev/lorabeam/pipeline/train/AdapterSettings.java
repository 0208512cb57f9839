package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.transforms.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The LoRA shape recorded in an mlx-lm {@code adapter_config.json} (ours or mlx-lm's): rank,
 * scale, dropout, layers and keys, so adapters can be loaded onto a model opened to match.
 */
public record AdapterSettings(int rank, double scale, double dropout, int numLayers, List<String> keys) {

  public static AdapterSettings read(Path adapterDir) {
    Path file = adapterDir.resolve("adapter_config.json");
    if (!Files.isRegularFile(file)) {
      throw new UserError("--adapter-path " + adapterDir + " has no adapter_config.json: point it at a directory written by train or mlx_lm.lora");
    }
    try {
      JsonNode root = new ObjectMapper().readTree(file.toFile());
      JsonNode lora = root.path("lora_parameters");
      List<String> keys = new ArrayList<>();
      lora.path("keys").forEach(k -> keys.add(k.asText()));
      return new AdapterSettings(
          lora.path("rank").asInt(8), lora.path("scale").asDouble(20.0), lora.path("dropout").asDouble(0.0),
          root.path("num_layers").asInt(16), keys.isEmpty() ? EngineConfig.ALL_MODULES : keys);
    } catch (IOException e) {
      throw new UserError("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public EngineConfig applyTo(EngineConfig config) {
    return config.withLora(rank, scale, dropout, numLayers, keys);
  }
}

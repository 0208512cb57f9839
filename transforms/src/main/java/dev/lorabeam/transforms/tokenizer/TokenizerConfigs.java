package dev.lorabeam.transforms.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorabeam.transforms.tokenizer.HfTokenizer.TokenizerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Reads the parts of a Hugging Face {@code tokenizer_config.json} that change token ids, and
 * builds the cheap cache keys tokenizer sources are shared under.
 */
final class TokenizerConfigs {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenizerConfigs() {}

  static TokenizerConfig read(Path file) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
    }
    String template = template(root.get("chat_template"));
    Path jinja = file.resolveSibling("chat_template.jinja");
    if (template == null && Files.exists(jinja)) {
      // Newer transformers versions keep the template in its own file.
      template = Files.readString(jinja);
    }
    return new TokenizerConfig(template, tokenName(root.get("bos_token")),
        tokenName(root.get("eos_token")));
  }

  /** A template is either a string or a list of {name, template}; "default" wins. */
  private static @Nullable String template(@Nullable JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.asText();
    }
    for (JsonNode named : node) {
      if ("default".equals(named.path("name").asText())) {
        return named.path("template").asText();
      }
    }
    return node.isEmpty() ? null : node.get(0).path("template").asText();
  }

  /** bos/eos are written either as "<s>" or as {"content": "<s>", ...}. */
  private static @Nullable String tokenName(@Nullable JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    return node.isTextual() ? node.asText() : node.path("content").asText(null);
  }

  /** Name plus size and modification time of each file: changes when a file is replaced. */
  static String cacheKey(String name, Path... files) {
    StringBuilder key = new StringBuilder(name);
    for (Path f : files) {
      try {
        key.append('|').append(Files.size(f)).append('@').append(Files.getLastModifiedTime(f));
      } catch (IOException e) {
        key.append("|absent");
      }
    }
    return key.toString();
  }
}

package dev.lorabeam.pipeline.fuse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.tokenizer.GgufMetadata;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The tokenizer half of a fused Hugging Face directory. A directory base's tokenizer files are
 * copied as they are; a GGUF base gets the {@code tokenizer.json} that {@link GgufTokenizer} builds
 * from the GGUF metadata, a {@code tokenizer_config.json} with its BOS/EOS and chat template, and
 * config.json gains {@code bos_token_id}, {@code eos_token_id} and {@code max_position_embeddings}.
 */
public final class FusedTokenizerFiles {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Everything transformers and mlx-lm read for a tokenizer, when the base has it. */
  static final List<String> COPIED = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
      "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja",
      "chat_template.json", "generation_config.json");

  private FusedTokenizerFiles() {}

  public static void write(ResolvedModel base, Path out) throws IOException {
    if (base.kind() == ResolvedModel.Kind.HF_DIR) {
      for (String name : COPIED) {
        Path source = base.path().resolve(name);
        if (Files.isRegularFile(source)) {
          Files.copy(source, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return;
    }
    GgufTokenizer tokenizer = new GgufTokenizer(base.path());
    Files.write(out.resolve("tokenizer.json"), tokenizer.tokenizerJson());
    ObjectNode tc = JSON.createObjectNode();
    tc.put("tokenizer_class", "PreTrainedTokenizerFast");
    tc.put("bos_token", tokenizer.bosToken());
    tc.put("eos_token", tokenizer.eosToken());
    if (tokenizer.chatTemplate() != null) {
      tc.put("chat_template", tokenizer.chatTemplate());
    }
    writeJson(out.resolve("tokenizer_config.json"), tc);
    addIds(out.resolve("config.json"), tokenizer, GgufMetadata.read(base.path()).getLong("llama.context_length", 0));
  }

  private static void addIds(Path configFile, TextTokenizer tokenizer, long contextLength) throws IOException {
    ObjectNode config = (ObjectNode) JSON.readTree(configFile.toFile());
    if (tokenizer.bosToken() != null) {
      config.put("bos_token_id", tokenizer.bosId());
    }
    config.put("eos_token_id", tokenizer.eosId());
    if (contextLength > 0) {
      config.put("max_position_embeddings", contextLength);
    }
    writeJson(configFile, config);
  }

  private static void writeJson(Path file, ObjectNode node) throws IOException {
    Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
  }
}

package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code manifest.json} of a shard directory: what was packed, with which tokenizer and T.
 * Readers refuse shards whose {@code format_version}, tokenizer fingerprint or T differ.
 */
public record ShardManifest(
    int formatVersion,
    int seqLength,
    String tokenizerFingerprint,
    String tokenizer,
    long blocks,
    long trainedTargets,
    List<ShardInfo> shards,
    List<String> sourceFiles,
    String deadLetters,
    String createdAt) implements Serializable {

  public static final String FORMAT = "lorabeam-shards";
  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "manifest.json";
  public static final String DEAD_LETTERS_FILE = "dead-letters.jsonl";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public ShardManifest {
    shards = List.copyOf(shards);
    sourceFiles = List.copyOf(sourceFiles);
  }

  /** One shard file and what it holds. */
  public record ShardInfo(String file, long blocks, long trainedTargets) implements Serializable {}

  /** Slots for targets (blocks × T); trained / slots is the packing efficiency. */
  public long targetSlots() {
    return blocks * seqLength;
  }

  public String toJson() throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT).put("format_version", formatVersion);
    root.put("seq_length", seqLength).put("block_tokens", seqLength + 1);
    root.putObject("tokenizer").put("fingerprint", tokenizerFingerprint).put("source", tokenizer);
    root.put("blocks", blocks).put("trained_targets", trainedTargets)
        .put("target_slots", targetSlots());
    root.put("dead_letters", deadLetters).put("created_at", createdAt);
    for (ShardInfo s : shards) {
      root.withArray("shards").addObject().put("file", s.file()).put("blocks", s.blocks())
          .put("trained_targets", s.trainedTargets());
    }
    root.putArray("source_files");
    sourceFiles.forEach(root.withArray("source_files")::add);
    return JSON.writeValueAsString(root);
  }

  /** Written to a temporary name and moved, so a reader never sees half a manifest. */
  public void write(Path dir) throws IOException {
    Path tmp = dir.resolve(FILE_NAME + ".tmp");
    Files.writeString(tmp, toJson(), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve(FILE_NAME), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(FILE_NAME));
  }

  public static ShardManifest read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new IOException("no " + FILE_NAME + " in " + dir + "; it is not a finished shard "
          + "directory. Run: lorabeam preprocess --data ... --output " + dir);
    }
    JsonNode root = JSON.readTree(file.toFile());
    if (!FORMAT.equals(root.path("format").asText())) {
      throw new IOException(file + " is not a " + FORMAT + " manifest");
    }
    int version = root.path("format_version").asInt();
    if (version != FORMAT_VERSION) {
      throw new IOException(file + " has shard format version " + version + " but this build "
          + "reads version " + FORMAT_VERSION + "; re-run lorabeam preprocess");
    }
    List<ShardInfo> shards = new ArrayList<>();
    for (JsonNode s : root.path("shards")) {
      shards.add(new ShardInfo(s.path("file").asText(), s.path("blocks").asLong(),
          s.path("trained_targets").asLong()));
    }
    List<String> sources = new ArrayList<>();
    root.path("source_files").forEach(s -> sources.add(s.asText()));
    return new ShardManifest(version, root.path("seq_length").asInt(),
        root.path("tokenizer").path("fingerprint").asText(),
        root.path("tokenizer").path("source").asText(), root.path("blocks").asLong(),
        root.path("trained_targets").asLong(), shards, sources,
        root.path("dead_letters").asText(), root.path("created_at").asText());
  }
}

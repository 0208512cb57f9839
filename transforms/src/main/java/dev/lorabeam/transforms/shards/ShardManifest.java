package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.transforms.read.SourceFile;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code manifest.json} of a shard directory: everything that made the blocks ({@link
 * ShardSettings}), every source file with its size and SHA-256, the counts, each shard with its
 * block count and SHA-256, and one content fingerprint of the whole block set ({@code
 * block_set_fingerprint}: SHA-256 over the shards' names and hashes in file order). Block i of the
 * set is block {@code i - offset(shard)} of the shard whose range holds it ({@link #locate}).
 * Written once, after every shard exists.
 */
public record ShardManifest(
    int formatVersion,
    ShardSettings settings,
    Counts counts,
    List<ShardInfo> shards,
    List<SourceFile> sources,
    String blockSetFingerprint,
    String deadLetters,
    String createdAt) implements Serializable {

  public static final String FORMAT = "lorabeam-shards";
  public static final int FORMAT_VERSION = 2;
  public static final String FILE_NAME = "manifest.json";
  public static final String DEAD_LETTERS_FILE = "dead-letters.jsonl";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public ShardManifest {
    shards = List.copyOf(shards);
    sources = List.copyOf(sources);
  }

  /**
   * One shard file: its blocks, trained targets, tokens (input positions holding a document
   * token, not padding), size and SHA-256 of its bytes.
   */
  public record ShardInfo(String file, long blocks, long trainedTargets, long tokens, long bytes,
      String sha256) implements Serializable {}

  /** Rows read (lines), dead letters, blocks, tokens in blocks (not padding), trained targets. */
  public record Counts(long rows, long deadLetters, long blocks, long tokens, long trainedTargets)
      implements Serializable {}

  public int seqLength() {
    return settings.seqLength();
  }

  public String tokenizerFingerprint() {
    return settings.tokenizerFingerprint();
  }

  public String tokenizer() {
    return settings.tokenizer();
  }

  public long blocks() {
    return counts.blocks();
  }

  public long trainedTargets() {
    return counts.trainedTargets();
  }

  /** Slots for targets (blocks × T); trained / slots is the packing efficiency. */
  public long targetSlots() {
    return counts.blocks() * settings.seqLength();
  }

  public List<String> sourceFiles() {
    return sources.stream().map(SourceFile::file).toList();
  }

  /** Where block {@code index} of the set lives: shard position and the block within it. */
  public record BlockAddress(int shard, long block) {}

  public BlockAddress locate(long index) {
    long offset = 0;
    for (int s = 0; s < shards.size(); s++) {
      if (index < offset + shards.get(s).blocks()) {
        return new BlockAddress(s, index - offset);
      }
      offset += shards.get(s).blocks();
    }
    throw new IndexOutOfBoundsException("block " + index + " of " + offset);
  }

  public String toJson() throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT).put("format_version", formatVersion);
    settings.writeTo(root);
    root.put("rows", counts.rows()).put("dead_letter_rows", counts.deadLetters())
        .put("blocks", counts.blocks()).put("tokens", counts.tokens())
        .put("trained_targets", counts.trainedTargets()).put("target_slots", targetSlots());
    root.put("block_set_fingerprint", blockSetFingerprint);
    root.put("dead_letters", deadLetters).put("created_at", createdAt);
    root.putArray("shards");
    for (ShardInfo s : shards) {
      root.withArray("shards").addObject().put("file", s.file()).put("blocks", s.blocks())
          .put("trained_targets", s.trainedTargets()).put("tokens", s.tokens())
          .put("bytes", s.bytes())
          .put("sha256", s.sha256());
    }
    root.putArray("source_files");
    for (SourceFile f : sources) {
      root.withArray("source_files").addObject().put("file", f.file()).put("bytes", f.bytes())
          .put("sha256", f.sha256()).put("lines", f.lines());
    }
    return JSON.writeValueAsString(root);
  }

  /** Written to a temporary name and renamed, so a reader never sees half a manifest. */
  public void write(String dir) throws IOException {
    byte[] json = toJson().getBytes(StandardCharsets.UTF_8);
    BeamFiles.writeAtomically(dir, FILE_NAME, out -> out.write(json));
  }

  public static boolean exists(Path dir) {
    return exists(dir.toAbsolutePath().toString());
  }

  public static boolean exists(String dir) {
    return BeamFiles.exists(dir, FILE_NAME);
  }

  public static ShardManifest read(Path dir) throws IOException {
    return read(dir.toAbsolutePath().toString());
  }

  public static ShardManifest read(String dir) throws IOException {
    String file = BeamFiles.file(dir, FILE_NAME).toString();
    if (!exists(dir)) {
      throw new IOException("no " + FILE_NAME + " in " + dir + "; it is not a finished shard "
          + "directory. Run: lorabeam preprocess --data ... --output " + dir);
    }
    JsonNode root = JSON.readTree(BeamFiles.readString(dir, FILE_NAME));
    if (!FORMAT.equals(root.path("format").asText())) {
      throw new IOException(file + " is not a " + FORMAT + " manifest");
    }
    int version = root.path("format_version").asInt();
    if (version != FORMAT_VERSION) {
      throw new IOException(file + " has shard format version " + version + " but this build "
          + "reads version " + FORMAT_VERSION + "; re-run lorabeam preprocess into an empty "
          + "--output directory (or train from the JSONL, which prepares the blocks itself)");
    }
    List<ShardInfo> shards = new ArrayList<>();
    for (JsonNode s : root.path("shards")) {
      shards.add(new ShardInfo(s.path("file").asText(), s.path("blocks").asLong(),
          s.path("trained_targets").asLong(), s.path("tokens").asLong(), s.path("bytes").asLong(),
          s.path("sha256").asText()));
    }
    List<SourceFile> sources = new ArrayList<>();
    for (JsonNode f : root.path("source_files")) {
      sources.add(new SourceFile(f.path("file").asText(), f.path("bytes").asLong(),
          f.path("sha256").asText(), f.path("lines").asLong()));
    }
    Counts counts = new Counts(root.path("rows").asLong(), root.path("dead_letter_rows").asLong(),
        root.path("blocks").asLong(), root.path("tokens").asLong(),
        root.path("trained_targets").asLong());
    return new ShardManifest(version, ShardSettings.readFrom(root, file), counts, shards, sources,
        root.path("block_set_fingerprint").asText(), root.path("dead_letters").asText(),
        root.path("created_at").asText());
  }
}

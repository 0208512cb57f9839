package dev.lorabeam.transforms.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A Hugging Face tokenizer, run by DJL's binding of the Rust {@code tokenizers} library, built
 * from {@code tokenizer.json} bytes plus the few {@code tokenizer_config.json} facts we need.
 * Loaded tokenizers are cached per fingerprint so many DoFn instances in one JVM share one.
 */
public final class HfTokenizer implements TextTokenizer {

  private static final Map<String, Loaded> CACHE = new ConcurrentHashMap<>();
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the tokenizer comes from; serialized instead of the native handle. */
  public interface Source extends java.io.Serializable {
    /** tokenizer.json bytes. */
    byte[] tokenizerJson() throws IOException;

    /** tokenizer_config.json facts (chat template, bos/eos names). */
    TokenizerConfig config() throws IOException;

    String describe();

    /** Identifies the content cheaply (path, size, modification time) for the per-JVM cache. */
    default String cacheKey() {
      return describe();
    }
  }

  /** The tokenizer_config.json facts that change what we feed the model. */
  public record TokenizerConfig(
      @Nullable String chatTemplate, @Nullable String bosToken, @Nullable String eosToken)
      implements java.io.Serializable {}

  private record Loaded(
      HuggingFaceTokenizer tokenizer, Map<String, Integer> specials, int vocabSize,
      TokenizerConfig config, String fingerprint) {}

  private final Source source;
  private transient volatile Loaded loaded;

  public HfTokenizer(Source source) {
    this.source = source;
  }

  /** From a tokenizer.json, with tokenizer_config.json read from the same directory if present. */
  public static HfTokenizer fromFiles(Path tokenizerJson) {
    return new HfTokenizer(new FileSource(tokenizerJson.toAbsolutePath().toString()));
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    // DJL's encode() copies tokens, offsets, masks and word ids across JNI for every call; we
    // only need the ids, which makes encoding about 3x faster.
    long handle = loaded().tokenizer.getHandle();
    long encoding = TokenizersLibrary.LIB.encode(handle, text, addSpecialTokens);
    long[] ids;
    try {
      ids = TokenizersLibrary.LIB.getTokenIds(encoding);
    } finally {
      TokenizersLibrary.LIB.deleteEncoding(encoding);
    }
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  @Override
  public String decode(int[] ids) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longs[i] = ids[i];
    }
    return loaded().tokenizer.decode(longs, false);
  }

  @Override
  public int bosId() {
    String bos = bosToken();
    return bos == null ? -1 : tokenId(bos).orElse(-1);
  }

  @Override
  public int eosId() {
    String eos = eosToken();
    if (eos == null) {
      throw new IllegalStateException(describe() + " names no eos_token; add one to "
          + "tokenizer_config.json");
    }
    return tokenId(eos).orElseThrow(() -> new IllegalStateException(
        describe() + ": eos_token '" + eos + "' is not in the vocabulary"));
  }

  @Override
  public @Nullable String bosToken() {
    return loaded().config.bosToken();
  }

  @Override
  public @Nullable String eosToken() {
    return loaded().config.eosToken();
  }

  @Override
  public int vocabSize() {
    return loaded().vocabSize;
  }

  @Override
  public OptionalInt tokenId(String token) {
    Integer id = loaded().specials.get(token);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  @Override
  public @Nullable String chatTemplate() {
    return loaded().config.chatTemplate();
  }

  @Override
  public String fingerprint() {
    return loaded().fingerprint;
  }

  @Override
  public String describe() {
    return source.describe();
  }

  private Loaded loaded() {
    Loaded l = loaded;
    if (l == null) {
      l = load(source);
      loaded = l;
    }
    return l;
  }

  /** Cached per source, so the many DoFn instances a runner creates reuse one native tokenizer. */
  private static Loaded load(Source source) {
    return CACHE.computeIfAbsent(source.cacheKey(), k -> {
      try {
        byte[] json = source.tokenizerJson();
        TokenizerConfig config = source.config();
        return open(json, config, fingerprint(json, config), source.describe());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read tokenizer " + source.describe(), e);
      }
    });
  }

  private static Loaded open(byte[] json, TokenizerConfig config, String fp, String what) {
    // Without these options DJL truncates to 512 tokens and pads; we want the raw ids.
    Map<String, String> options = Map.of(
        "truncation", "false", "padding", "false", "addSpecialTokens", "true",
        "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
    try {
      HuggingFaceTokenizer tok =
          HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options);
      JsonNode root = JSON.readTree(json);
      Map<String, Integer> ids = new HashMap<>();
      root.path("model").path("vocab").fields()
          .forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
      for (JsonNode added : root.path("added_tokens")) {
        ids.put(added.path("content").asText(), added.path("id").asInt());
      }
      int vocab = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
      return new Loaded(tok, Map.copyOf(ids), vocab, config, fp);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load tokenizer " + what, e);
    }
  }

  static String fingerprint(byte[] json, TokenizerConfig config) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(json);
      for (String s : new String[] {config.chatTemplate(), config.bosToken(), config.eosToken()}) {
        sha.update((byte) 0);
        sha.update(String.valueOf(s).getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JVM", e);
    }
  }

  /** tokenizer.json (+ tokenizer_config.json beside it) on a shared file system. */
  record FileSource(String tokenizerJsonPath) implements Source {
    @Override
    public byte[] tokenizerJson() throws IOException {
      return Files.readAllBytes(Path.of(tokenizerJsonPath));
    }

    @Override
    public TokenizerConfig config() throws IOException {
      Path cfg = Path.of(tokenizerJsonPath).resolveSibling("tokenizer_config.json");
      return Files.exists(cfg) ? TokenizerConfigs.read(cfg) : new TokenizerConfig(null, null, null);
    }

    @Override
    public String describe() {
      return "tokenizer.json:" + tokenizerJsonPath;
    }

    @Override
    public String cacheKey() {
      return TokenizerConfigs.cacheKey(describe(), Path.of(tokenizerJsonPath),
          Path.of(tokenizerJsonPath).resolveSibling("tokenizer_config.json"));
    }
  }
}

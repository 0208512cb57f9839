package dev.lorabeam.transforms.tokenizer;

import dev.lorabeam.transforms.tokenizer.HfTokenizer.TokenizerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The tokenizer stored inside a GGUF model file: its metadata is translated to a
 * {@code tokenizer.json} by {@link GgufTokenizerJson} and then run by DJL like any other
 * Hugging Face tokenizer. Serializes as the file path only.
 */
public final class GgufTokenizer implements TextTokenizer {

  private final HfTokenizer delegate;
  private final String path;

  public GgufTokenizer(Path gguf) {
    this.path = gguf.toAbsolutePath().toString();
    this.delegate = new HfTokenizer(new GgufSource(path));
  }

  /** The generated tokenizer.json, e.g. to inspect it or hand it to Python {@code tokenizers}. */
  public byte[] tokenizerJson() throws IOException {
    return GgufSource.converted(path).json();
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    return delegate.encode(text, addSpecialTokens);
  }

  @Override
  public String decode(int[] ids) {
    return delegate.decode(ids);
  }

  @Override
  public int bosId() {
    return delegate.bosId();
  }

  @Override
  public int eosId() {
    return delegate.eosId();
  }

  @Override
  public @Nullable String bosToken() {
    return delegate.bosToken();
  }

  @Override
  public @Nullable String eosToken() {
    return delegate.eosToken();
  }

  @Override
  public int vocabSize() {
    return delegate.vocabSize();
  }

  @Override
  public OptionalInt tokenId(String token) {
    return delegate.tokenId(token);
  }

  @Override
  public @Nullable String chatTemplate() {
    return delegate.chatTemplate();
  }

  @Override
  public String fingerprint() {
    return delegate.fingerprint();
  }

  @Override
  public String describe() {
    return "gguf:" + path;
  }

  /** Reads the GGUF once per JVM and path; the conversion takes a second for 49k tokens. */
  record GgufSource(String path) implements HfTokenizer.Source {
    private static final Map<String, Converted> CONVERTED = new ConcurrentHashMap<>();

    record Converted(byte[] json, TokenizerConfig config) {}

    static Converted converted(String path) throws IOException {
      String key = TokenizerConfigs.cacheKey(path, Path.of(path));
      Converted c = CONVERTED.get(key);
      if (c == null) {
        c = convert(path);
        CONVERTED.put(key, c);
      }
      return c;
    }

    private static Converted convert(String path) throws IOException {
      GgufMetadata meta = GgufMetadata.read(Path.of(path));
      List<String> tokens = meta.getList("tokenizer.ggml.tokens");
      String template = meta.has("tokenizer.chat_template")
          ? meta.getString("tokenizer.chat_template") : null;
      return new Converted(GgufTokenizerJson.convert(meta, path),
          new TokenizerConfig(template, tokenAt(meta, tokens, "bos"), tokenAt(meta, tokens, "eos")));
    }

    private static String tokenAt(GgufMetadata meta, List<String> tokens, String which) {
      long id = meta.getLong("tokenizer.ggml." + which + "_token_id", -1);
      return id < 0 || id >= tokens.size() ? null : tokens.get((int) id);
    }

    @Override
    public byte[] tokenizerJson() throws IOException {
      return converted(path).json();
    }

    @Override
    public TokenizerConfig config() throws IOException {
      return converted(path).config();
    }

    @Override
    public String describe() {
      return "gguf:" + path;
    }

    @Override
    public String cacheKey() {
      return TokenizerConfigs.cacheKey(describe(), Path.of(path));
    }
  }
}

package dev.lorabeam.transforms.tokenizer;

import java.io.Serializable;
import java.util.OptionalInt;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The tokenizer contract the transforms code against. Implementations are {@link Serializable}
 * by carrying only where the tokenizer lives (a file path); the native tokenizer is opened lazily
 * on first use in each worker JVM and cached per path, so a DoFn can hold one as a plain field
 * and open it in {@code @Setup}.
 */
public interface TextTokenizer extends Serializable {

  /**
   * @param addSpecialTokens apply the tokenizer's post-processor (e.g. Llama 3 prepends BOS);
   *     pass false for text that was already rendered by a chat template
   */
  int[] encode(String text, boolean addSpecialTokens);

  /** Inverse of {@link #encode} for byte-level BPE; special tokens are kept as text. */
  String decode(int[] ids);

  /** BOS id, or -1 when the tokenizer has none. */
  int bosId();

  /** EOS id: the token that ends a document (for chat models, the end-of-turn token). */
  int eosId();

  @Nullable String bosToken();

  @Nullable String eosToken();

  /** Number of ids, added tokens included (max id + 1). */
  int vocabSize();

  /** Id of an exact token string (added/special tokens and vocabulary entries). */
  OptionalInt tokenId(String token);

  /** Jinja chat template, or null when the model has none (base models). */
  @Nullable String chatTemplate();

  /** Hex SHA-256 of everything that decides ids: vocabulary, merges, specials, template. */
  String fingerprint();

  /** Short human description, e.g. "gguf:SmolLM2-135M-Instruct.Q4_1.gguf". */
  String describe();

  /** Opens the native side now, so failures surface in {@code @Setup}, not mid-bundle. */
  default void open() {
    encode("", false);
  }
}

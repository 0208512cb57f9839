package dev.lorabeam.transforms;

import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.util.OptionalInt;

/** The demo tokenizer with a template that calls raise_exception on non-alternating roles. */
public final class StrictTemplateTokenizer implements TextTokenizer {
  private final TextTokenizer inner;

  public StrictTemplateTokenizer(TextTokenizer inner) {
    this.inner = inner;
  }

  @Override
  public String chatTemplate() {
    return "{% for message in messages %}"
        + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}"
        + "{% endif %}{{ message['role'] + ': ' + message['content'] + eos_token }}{% endfor %}";
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    return inner.encode(text, addSpecialTokens);
  }

  @Override
  public String decode(int[] ids) {
    return inner.decode(ids);
  }

  @Override
  public int bosId() {
    return inner.bosId();
  }

  @Override
  public int eosId() {
    return inner.eosId();
  }

  @Override
  public String bosToken() {
    return inner.bosToken();
  }

  @Override
  public String eosToken() {
    return inner.eosToken();
  }

  @Override
  public int vocabSize() {
    return inner.vocabSize();
  }

  @Override
  public OptionalInt tokenId(String token) {
    return inner.tokenId(token);
  }

  @Override
  public String fingerprint() {
    return "strict-" + inner.fingerprint();
  }

  @Override
  public String describe() {
    return "strict template over " + inner.describe();
  }
}

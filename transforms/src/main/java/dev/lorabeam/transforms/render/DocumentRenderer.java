package dev.lorabeam.transforms.render;

import dev.lorabeam.transforms.read.Example;

import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.tokenizer.ChatTemplate;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Turns one {@link Example} into token ids and per-token loss weights, the way mlx-lm does:
 * text rows are encoded with the tokenizer's own specials and end with EOS; chat rows go through
 * the chat template and are encoded without adding specials (the template writes BOS itself);
 * prompt/completion rows become a user/assistant conversation when the model has a template.
 *
 * <p>With mask-prompt, the prompt is everything the template renders for
 * {@code messages[..last assistant)} with {@code add_generation_prompt=true}; its tokens get
 * weight 0 and everything after it weight 1.
 */
public final class DocumentRenderer {
  private final TextTokenizer tokenizer;
  private final ChatTemplate template;
  private final boolean maskPrompt;
  private final int bos;
  private final int eos;
  private final @Nullable LocalDate templateDate;

  public DocumentRenderer(TextTokenizer tokenizer, boolean maskPrompt) {
    this(tokenizer, maskPrompt, null);
  }

  /** @param templateDate what the chat template's {@code strftime_now} sees; null = today */
  public DocumentRenderer(TextTokenizer tokenizer, boolean maskPrompt,
      @Nullable LocalDate templateDate) {
    this.templateDate = templateDate;
    this.tokenizer = tokenizer;
    this.maskPrompt = maskPrompt;
    String t = tokenizer.chatTemplate();
    this.template = t == null ? null : ChatTemplate.shared(t, tokenizer.bosToken(), tokenizer.eosToken());
    this.bos = tokenizer.bosId();
    this.eos = tokenizer.eosId();
  }

  /** Weights are 1 (or 0 on the prompt) before any per-example weighting. */
  public TokenizedDoc render(Example e) {
    return switch (e.format()) {
      case TEXT -> text(e);
      case CHAT -> chat(e, e.messages(), e.toolsJson());
      case COMPLETION -> template != null
          ? chat(e, List.of(new Message("user", e.prompt()),
              new Message("assistant", e.completion())), null)
          : plainCompletion(e);
    };
  }

  private TokenizedDoc text(Example e) {
    int[] ids = withEos(tokenizer.encode(e.text(), true));
    return doc(e, ids, 0);
  }

  private TokenizedDoc chat(Example e, List<Message> messages, String tools) {
    if (template == null) {
      throw new ChatTemplate.TemplateException(tokenizer.describe() + " has no chat template, so "
          + "chat rows cannot be rendered; use a chat/instruct model or {\"text\"} rows");
    }
    int[] ids = dropDoubleBos(tokenizer.encode(template.render(messages, tools, false, templateDate), false));
    int promptLength = 0;
    if (maskPrompt) {
      int lastAssistant = lastAssistant(messages);
      String prompt = template.render(messages.subList(0, lastAssistant), tools, true,
          templateDate);
      promptLength = commonPrefix(dropDoubleBos(tokenizer.encode(prompt, false)), ids);
    }
    return doc(e, ids, promptLength);
  }

  private TokenizedDoc plainCompletion(Example e) {
    int[] prompt = tokenizer.encode(e.prompt(), true);
    int[] ids = withEos(tokenizer.encode(e.prompt() + e.completion(), true));
    return doc(e, ids, maskPrompt ? commonPrefix(prompt, ids) : 0);
  }

  /** Weight 0 for targets inside the prompt, 1 after; weights[0] is never a target. */
  private static TokenizedDoc doc(Example e, int[] ids, int promptLength) {
    float[] w = new float[ids.length];
    for (int j = Math.max(1, promptLength); j < ids.length; j++) {
      w[j] = 1f;
    }
    return new TokenizedDoc(ids, w, e.sourceFile(), e.line());
  }

  private int[] withEos(int[] ids) {
    if (ids.length > 0 && ids[ids.length - 1] == eos) {
      return ids;
    }
    int[] out = Arrays.copyOf(ids, ids.length + 1);
    out[ids.length] = eos;
    return out;
  }

  /** A template that writes BOS, encoded by a tokenizer that also adds it, would double it. */
  private int[] dropDoubleBos(int[] ids) {
    return bos >= 0 && ids.length >= 2 && ids[0] == bos && ids[1] == bos
        ? Arrays.copyOfRange(ids, 1, ids.length) : ids;
  }

  private static int lastAssistant(List<Message> messages) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role().equals("assistant")) {
        return i;
      }
    }
    throw new IllegalArgumentException("no assistant turn; the parser rejects such rows");
  }

  /** Usually the prompt's ids are a prefix of the full ids; at a merge boundary they may not be. */
  private static int commonPrefix(int[] a, int[] b) {
    int n = Math.min(a.length, b.length);
    int i = 0;
    while (i < n && a[i] == b[i]) {
      i++;
    }
    return i;
  }
}

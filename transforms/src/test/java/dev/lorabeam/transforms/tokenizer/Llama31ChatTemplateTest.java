package dev.lorabeam.transforms.tokenizer;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import dev.lorabeam.transforms.render.DocumentRenderer;
import dev.lorabeam.transforms.read.Example;
import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.TestFiles;
import dev.lorabeam.transforms.render.TokenizedDoc;
import java.util.Arrays;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Meta's Llama 3.1 tokenizer and chat template (npm {@value TestFiles#LLAMA31_PACKAGE}, fetched at
 * test time). Expected ids were computed once with Hugging Face transformers 5.24 /
 * tokenizers 0.23.3 from the same files: transforms/src/test/python/llama31_reference_ids.py
 * ({@code apply_chat_template(messages)}; the prompt length is {@code messages[:-1]} with
 * {@code add_generation_prompt=True}, which is what mlx-lm masks).
 */
public class Llama31ChatTemplateTest {
  private static HfTokenizer tok;

  private static final List<Message> CAPITAL = List.of(
      new Message("user", "What is the capital of France?"),
      new Message("assistant", "Paris."));
  private static final int[] CAPITAL_IDS = {128000, 128006, 882, 128007, 271, 3923, 374, 279,
      6864, 315, 9822, 30, 128009, 128006, 78191, 128007, 271, 60704, 13, 128009};

  private static final List<Message> MULTI_TURN = List.of(
      new Message("system", "You answer in one word."),
      new Message("user", "  Colour of the sky in 1790?  "),
      new Message("assistant", "Blue"),
      new Message("user", "And grass?"),
      new Message("assistant", "Green — mostly."));
  private static final int[] MULTI_TURN_IDS = {128000, 128006, 9125, 128007, 271, 2675, 4320,
      304, 832, 3492, 13, 128009, 128006, 882, 128007, 271, 34381, 315, 279, 13180, 304, 220,
      11128, 15, 30, 128009, 128006, 78191, 128007, 271, 10544, 128009, 128006, 882, 128007, 271,
      3112, 16763, 30, 128009, 128006, 78191, 128007, 271, 20147, 2001, 10213, 13, 128009};

  @BeforeClass
  public static void open() throws Exception {
    tok = HfTokenizer.fromFiles(TestFiles.llama31Dir().resolve("tokenizer.json"));
  }

  @Test
  public void specialTokensAndVocabulary() {
    assertEquals(128256, tok.vocabSize());
    assertEquals(128000, tok.bosId());
    assertEquals("<|eot_id|>", tok.eosToken());
    assertEquals(128009, tok.eosId());
    assertEquals(128006, tok.tokenId("<|start_header_id|>").getAsInt());
  }

  @Test
  public void rendersSingleTurnToReferenceIds() {
    assertArrayEquals(CAPITAL_IDS, render(CAPITAL, false).tokens());
  }

  @Test
  public void rendersMultiTurnWithTrimToReferenceIds() {
    assertArrayEquals(MULTI_TURN_IDS, render(MULTI_TURN, false).tokens());
  }

  /** The template writes BOS itself; encoding must not add a second one. */
  @Test
  public void exactlyOneBos() {
    int[] ids = render(CAPITAL, false).tokens();
    assertEquals(1, Arrays.stream(ids).filter(i -> i == 128000).count());
  }

  @Test
  public void maskPromptZeroesEverythingBeforeTheFinalAssistantContent() {
    assertPromptMasked(render(CAPITAL, true), 17);
    assertPromptMasked(render(MULTI_TURN, true), 44);
  }

  @Test
  public void textRowsGetBosFromTheTokenizerAndEosAppended() {
    TokenizedDoc doc = new DocumentRenderer(tok, false)
        .render(Example.text("t.jsonl", 1, "Four score and seven years ago"));
    assertArrayEquals(new int[] {128000, 28070, 5573, 323, 8254, 1667, 4227, 128009}, doc.tokens());
  }

  @Test
  public void completionRowsBecomeUserAssistantTurns() {
    TokenizedDoc doc = new DocumentRenderer(tok, true)
        .render(Example.completion("c.jsonl", 3, "What is the capital of France?", "Paris."));
    assertArrayEquals(CAPITAL_IDS, doc.tokens());
    assertPromptMasked(doc, 17);
  }

  private static TokenizedDoc render(List<Message> messages, boolean mask) {
    return new DocumentRenderer(tok, mask).render(Example.chat("chat.jsonl", 1, messages));
  }

  private static void assertPromptMasked(TokenizedDoc doc, int promptLength) {
    for (int j = 0; j < doc.length(); j++) {
      assertEquals("weight of token " + j, j < promptLength ? 0f : 1f, doc.weights()[j], 0f);
    }
  }
}

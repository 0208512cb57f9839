package dev.lorabeam.transforms.render;

import dev.lorabeam.transforms.StrictTemplateTokenizer;

import dev.lorabeam.transforms.TestFiles;

import dev.lorabeam.transforms.read.DeadLetter;
import dev.lorabeam.transforms.read.Example;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.util.List;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;

/** Tokenize on the DirectRunner with the demo model's ChatML template. */
public class TokenizeTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private static TextTokenizer tok;

  @BeforeClass
  public static void open() {
    tok = new GgufTokenizer(TestFiles.demoGguf());
  }

  private static final Example CHAT = Example.chat("c.jsonl", 2, List.of(
      new Message("user", "Hi"), new Message("assistant", "Hello!")));

  @Test
  public void textIsEncodedWithEosAndChatPromptIsMasked() {
    Example text = Example.text("t.jsonl", 1, "Hello world!");
    PCollectionTuple out = pipeline
        .apply(Create.of(text, CHAT).withCoder(SerializableCoder.of(Example.class)))
        .apply(Tokenize.with(tok).withMaskPrompt(true));
    PAssert.that(out.get(Tokenize.DEAD_LETTERS)).empty();
    PAssert.that(out.get(Tokenize.DOCS)).satisfies(docs -> {
      for (TokenizedDoc d : docs) {
        if (d.line() == 1) {
          assertArrayEquals(new int[] {19556, 905, 17, 2}, d.tokens());
          assertArrayEquals(new float[] {0, 1, 1, 1}, d.weights(), 0f);
        } else {
          checkChatMask(d);
        }
      }
      return null;
    });
    pipeline.run();
  }

  /** Weights are 0 up to and including "<|im_start|>assistant\n", 1 on "Hello!<|im_end|>\n". */
  private static void checkChatMask(TokenizedDoc d) {
    String text = tok.decode(d.tokens());
    assertTrue(text, text.endsWith("<|im_start|>assistant\nHello!<|im_end|>\n"));
    int trained = 0;
    for (int j = 0; j < d.length(); j++) {
      trained += d.weights()[j] == 1f ? 1 : 0;
    }
    int[] answer = tok.encode("Hello!<|im_end|>\n", false);
    assertEquals(answer.length, trained);
    for (int j = 0; j < d.length() - answer.length; j++) {
      assertEquals("prompt token " + j, 0f, d.weights()[j], 0f);
    }
  }

  @Test
  public void exampleWeightMultipliesEveryTokenWeight() {
    Example e = Example.text("d.jsonl", 4, "Primary source.").withDistrust(0.05, 7.0);
    PCollectionTuple out = pipeline
        .apply(Create.of(e).withCoder(SerializableCoder.of(Example.class)))
        .apply(Tokenize.with(tok).withExampleWeight(x -> 1 + x.provEntropy()));
    PAssert.that(out.get(Tokenize.DOCS)).satisfies(docs -> {
      TokenizedDoc d = docs.iterator().next();
      assertEquals(0f, d.weights()[0], 0f);
      for (int j = 1; j < d.length(); j++) {
        assertEquals(8f, d.weights()[j], 0f);
      }
      return null;
    });
    pipeline.run();
  }

  @Test
  public void templateRejectionsBecomeDeadLetters() {
    // A template that refuses non-alternating roles, as Llama 2 / Mistral templates do.
    TextTokenizer strict = new StrictTemplateTokenizer(tok);
    Example bad = Example.chat("c.jsonl", 9, List.of(
        new Message("user", "a"), new Message("user", "b"), new Message("assistant", "c")));
    PCollectionTuple out = pipeline
        .apply(Create.of(bad).withCoder(SerializableCoder.of(Example.class)))
        .apply(Tokenize.with(strict));
    PAssert.that(out.get(Tokenize.DOCS)).empty();
    PAssert.that(out.get(Tokenize.DEAD_LETTERS)).satisfies(dead -> {
      DeadLetter d = dead.iterator().next();
      assertEquals(DeadLetter.Reason.TEMPLATE_ERROR, d.reason());
      assertEquals(9, d.line());
      assertTrue(d.detail(), d.detail().contains("roles must alternate"));
      return null;
    });
    pipeline.run();
  }
}

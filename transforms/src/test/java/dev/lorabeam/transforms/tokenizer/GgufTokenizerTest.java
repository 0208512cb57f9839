package dev.lorabeam.transforms.tokenizer;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.TestFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Test;

/** The SmolLM2 tokenizer built from the demo GGUF's metadata, against Python references. */
public class GgufTokenizerTest {
  private static GgufTokenizer tok;

  @BeforeClass
  public static void open() {
    tok = new GgufTokenizer(TestFiles.demoGguf());
  }

  @Test
  public void metadataHasTheSmolLm2Tokenizer() throws Exception {
    GgufMetadata meta = GgufMetadata.read(TestFiles.demoGguf());
    assertEquals(3, meta.version());
    assertEquals("gpt2", meta.getString("tokenizer.ggml.model"));
    assertEquals("smollm", meta.getString("tokenizer.ggml.pre"));
    assertEquals(49152, meta.getList("tokenizer.ggml.tokens").size());
    assertEquals(48900, meta.getList("tokenizer.ggml.merges").size());
  }

  @Test
  public void specialTokensMapToTheirIds() {
    assertEquals(49152, tok.vocabSize());
    assertEquals(0, tok.tokenId("<|endoftext|>").getAsInt());
    assertEquals(1, tok.tokenId("<|im_start|>").getAsInt());
    assertEquals(2, tok.tokenId("<|im_end|>").getAsInt());
    assertEquals(1, tok.bosId());
    assertEquals(2, tok.eosId());
    assertArrayEquals(new int[] {1, 2}, tok.encode("<|im_start|><|im_end|>", false));
    // The GGUF says add_bos_token = false: encoding with specials adds nothing.
    assertArrayEquals(tok.encode("Hello world!", false), tok.encode("Hello world!", true));
  }

  /**
   * Expected ids come from transforms/src/test/python/gguf_reference_ids.py: the same GGUF read
   * by MLX's loader, the tokenizer assembled with the Python tokenizers API (0.23.3).
   */
  @Test
  public void idsMatchPythonTokenizersReference() {
    assertArrayEquals(new int[] {19556, 905, 17}, tok.encode("Hello world!", false));
    assertArrayEquals(new int[] {788, 216, 33, 39, 41, 32, 28, 260, 713, 506, 9949, 436, 1885,
        36, 28, 39, 39, 33, 28, 32, 32, 32, 30},
        tok.encode("In 1790, the year's revenue was $4,771,000.", false));
    assertArrayEquals(new int[] {216, 312, 7366, 197, 397, 198, 2241, 5110, 1841, 619, 385,
        2346, 573, 37366, 17097, 241, 115, 40993},
        tok.encode("  Tabs\tand\nnewlines — “quotes” café 日本", false));
    assertArrayEquals(new int[] {1, 4093, 198, 26843, 2, 198},
        tok.encode("<|im_start|>user\nHi<|im_end|>\n", false));
  }

  @Test
  public void roundTripsTheWholeSampleCorpus() throws Exception {
    List<String> texts = new ArrayList<>();
    for (String f : new String[] {"sample/train.jsonl", "sample/valid.jsonl"}) {
      texts.addAll(TestFiles.texts(TestFiles.data(f)));
    }
    int failures = 0;
    long tokens = 0;
    String firstFailure = null;
    for (String s : texts) {
      int[] ids = tok.encode(s, false);
      tokens += ids.length;
      if (!tok.decode(ids).equals(s)) {
        failures++;
        firstFailure = firstFailure == null ? s : firstFailure;
      }
    }
    assertEquals("rows that do not round-trip, first: " + firstFailure, 0, failures);
    assertTrue("sample corpus is " + tokens + " tokens", tokens > 250_000);
    assertEquals(1690, texts.size());
  }

  @Test
  public void chatMlTemplateRendersWithDefaultSystemPrompt() {
    ChatTemplate t = new ChatTemplate(tok.chatTemplate(), tok.bosToken(), tok.eosToken());
    String out = t.render(List.of(new Message("user", "Hi"), new Message("assistant", "Hello!")),
        null, false);
    assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
        + "Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        + "<|im_start|>assistant\nHello!<|im_end|>\n", out);
    String prompt = t.render(List.of(new Message("user", "Hi")), null, true);
    assertTrue(prompt, prompt.endsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
  }

  @Test
  public void fingerprintIsStableAndSerializationKeepsIt() throws Exception {
    String fp = tok.fingerprint();
    assertEquals(64, fp.length());
    GgufTokenizer copy = org.apache.beam.sdk.util.SerializableUtils.clone(tok);
    assertEquals(fp, copy.fingerprint());
    assertEquals(Path.of(tok.describe().substring(5)), TestFiles.demoGguf().toAbsolutePath());
  }
}

package dev.lorabeam.transforms.pack;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.BlockChecks;
import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import dev.lorabeam.transforms.render.TokenizedDoc;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/**
 * Mask-prompt packing (issue 8.3): chunks with no trained target are never packed, and a long
 * prompt is cut from the left so the completion's chunk keeps the nearest prompt context.
 */
public class MaskPromptPackingTest {
  private static final int T = 64;

  /** Ids d*10_000 + j + 1; weight 0 on the first {@code prompt} tokens, 1 after. */
  private static TokenizedDoc masked(int d, int length, int prompt) {
    int[] tokens = new int[length];
    float[] weights = new float[length];
    for (int j = 0; j < length; j++) {
      tokens[j] = d * 10_000 + j + 1;
      weights[j] = j >= prompt ? 1f : 0f;
    }
    return new TokenizedDoc(tokens, weights, "chat.jsonl", d + 1);
  }

  private static List<PackedBlock> pack(List<TokenizedDoc> docs, LongDocPolicy policy,
      BlockPacker.Stats[] stats) {
    List<PackedBlock> out = new ArrayList<>();
    stats[0] = new BlockPacker(T, policy, 5, 0).pack(docs, out::add);
    return out;
  }

  @Test
  public void noBlockIsAllZeroWeightAndEveryCompletionTokenIsTrainedOnce() {
    // Prompts of 3-5 blocks' length, completions of 10..150 tokens, plus short all-prompt rows.
    Random rnd = new Random(2);
    List<TokenizedDoc> docs = new ArrayList<>();
    for (int d = 0; d < 40; d++) {
      int prompt = 3 * T + rnd.nextInt(2 * T);
      docs.add(masked(d, prompt + 10 + rnd.nextInt(140), prompt));
    }
    docs.add(masked(40, 20, 20)); // nothing to train: all prompt
    BlockPacker.Stats[] stats = new BlockPacker.Stats[1];
    List<PackedBlock> blocks = pack(docs, LongDocPolicy.SPLIT, stats);
    for (PackedBlock b : blocks) {
      assertTrue("a block with no trained target was packed", b.trainedTargets() > 0);
    }
    BlockChecks.verify(docs, blocks, T);
    assertEquals(1, stats[0].untrained);
    long completion = docs.stream().mapToLong(TokenizedDoc::trainedTargets).sum();
    assertEquals(completion, blocks.stream().mapToLong(PackedBlock::trainedTargets).sum());
  }

  @Test
  public void theCompletionChunkKeepsTheNearestPromptTokens() {
    int prompt = 500;
    TokenizedDoc doc = masked(0, prompt + 20, prompt);
    for (LongDocPolicy policy : new LongDocPolicy[] {LongDocPolicy.SPLIT, LongDocPolicy.TRUNCATE}) {
      BlockPacker.Stats[] stats = new BlockPacker.Stats[1];
      List<PackedBlock> blocks = pack(List.of(doc), policy, stats);
      assertEquals(policy + ": one block instead of 8 mostly untrained ones", 1, blocks.size());
      PackedBlock b = blocks.get(0);
      // T+1 tokens ending with the document's last token: 20 completion tokens and the 45
      // prompt tokens right before them; the prompt's first 455 tokens are cut.
      assertEquals(prompt + 20, b.tokens()[T]); // id of the last token (offset prompt+19)
      assertEquals(prompt + 20 - T, b.tokens()[0]);
      assertEquals(20, b.trainedTargets());
    }
  }

  @Test
  public void unmaskedDocumentsSplitExactlyAsBefore() {
    List<TokenizedDoc> docs = List.of(masked(0, 5 * T + 3, 1));
    BlockPacker.Stats[] stats = new BlockPacker.Stats[1];
    List<PackedBlock> blocks = pack(docs, LongDocPolicy.SPLIT, stats);
    // 5T+3 = 323 tokens: chunks start at 0, 64, ..., 320, each re-reading the last token before
    assertEquals(6, blocks.size());
    BlockChecks.verify(docs, blocks, T);
  }
}

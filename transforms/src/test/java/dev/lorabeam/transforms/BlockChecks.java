package dev.lorabeam.transforms;

import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.render.TokenizedDoc;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Test documents whose token ids say where they come from (doc d, offset j has id
 * d * 10_000 + j + 1), and a checker that proves blocks line up with them exactly.
 */
public final class BlockChecks {
  private BlockChecks() {}

  public static TokenizedDoc doc(int d, int length, Random rnd) {
    int[] tokens = new int[length];
    float[] weights = new float[length];
    for (int j = 0; j < length; j++) {
      tokens[j] = d * 10_000 + j + 1;
      weights[j] = j == 0 ? 0f : (rnd.nextInt(4) == 0 ? 0f : 0.5f + rnd.nextInt(3));
    }
    return new TokenizedDoc(tokens, weights, "docs.jsonl", d + 1);
  }

  public static List<TokenizedDoc> docs(int n, int maxLength, long seed) {
    Random rnd = new Random(seed);
    List<TokenizedDoc> out = new ArrayList<>();
    for (int d = 0; d < n; d++) {
      out.add(doc(d, 1 + rnd.nextInt(maxLength), rnd));
    }
    return out;
  }

  /**
   * Checks every block against the docs: shapes; segment ids 1..k in contiguous runs, each run
   * from one doc; weights[i] equal to the doc's weight of the target when tokens[i+1] is the next
   * token of the same doc, else 0; padding has segment 0 and weight 0; and every weighted target
   * of every doc is trained exactly once across all blocks (token conservation).
   */
  public static void verify(List<TokenizedDoc> docs, Iterable<PackedBlock> blocks, int t) {
    Map<Long, Integer> trained = new HashMap<>();
    for (PackedBlock b : blocks) {
      assertEquals(t + 1, b.tokens().length);
      assertEquals(t, b.segments().length);
      assertEquals(t, b.weights().length);
      int expectSegment = 0;
      for (int i = 0; i < t; i++) {
        int s = b.segments()[i];
        if (s == 0) {
          assertEquals("padding weight at " + i, 0f, b.weights()[i], 0f);
          for (int k = i; k < t; k++) {
            assertEquals("padding only at the end", 0, b.segments()[k]);
          }
          break;
        }
        boolean newRun = i == 0 || b.segments()[i - 1] != s;
        if (newRun) {
          assertEquals("segment ids count up from 1", ++expectSegment, s);
        } else {
          assertEquals("one doc per segment", doc(b.tokens()[i - 1]), doc(b.tokens()[i]));
          assertEquals("consecutive tokens", offset(b.tokens()[i - 1]) + 1, offset(b.tokens()[i]));
        }
        checkWeight(docs, b, i, trained);
      }
    }
    for (TokenizedDoc d : docs) {
      int id = doc(d.tokens()[0]);
      for (int j = 1; j < d.length(); j++) {
        int times = trained.getOrDefault(key(id, j), 0);
        assertEquals("doc " + id + " target " + j + " trained", d.weights()[j] != 0 ? 1 : 0, times);
      }
    }
  }

  private static void checkWeight(List<TokenizedDoc> docs, PackedBlock b, int i,
      Map<Long, Integer> trained) {
    int here = b.tokens()[i];
    int next = b.tokens()[i + 1];
    boolean sameDoc = next != 0 && doc(next) == doc(here) && offset(next) == offset(here) + 1
        && (i + 1 == b.length() || b.segments()[i + 1] == b.segments()[i]);
    float expected = sameDoc ? docs.get(doc(here)).weights()[offset(next)] : 0f;
    assertEquals("weight at " + i, expected, b.weights()[i], 0f);
    if (expected != 0) {
      trained.merge(key(doc(here), offset(next)), 1, Integer::sum);
    }
  }

  public static long totalWeightedTargets(List<TokenizedDoc> docs) {
    return docs.stream().mapToLong(TokenizedDoc::trainedTargets).sum();
  }

  private static int doc(int token) {
    assertTrue("token " + token + " is not from a test doc", token > 0);
    return (token - 1) / 10_000;
  }

  private static int offset(int token) {
    return (token - 1) % 10_000;
  }

  private static long key(int doc, int offset) {
    return ((long) doc << 32) | offset;
  }
}

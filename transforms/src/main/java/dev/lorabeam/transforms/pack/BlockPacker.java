package dev.lorabeam.transforms.pack;

import dev.lorabeam.transforms.render.TokenizedDoc;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Packs documents into blocks of exactly T+1 tokens by best-fit decreasing: chunks sorted
 * longest first go into the open block with the least room that still fits them, so a block is
 * padded only where no remaining chunk fits. Pure Java so the algorithm is tested on its own.
 *
 * <p>Long documents under {@link LongDocPolicy#SPLIT} become chunks of T+1 tokens that overlap
 * by one token (chunk k covers tokens [kT, kT+T]), so every target of the document is trained
 * exactly once. Ties are broken by a hash of (seed, file, line, offset), which makes the output
 * the same for a given seed whatever order the documents arrive in.
 */
public final class BlockPacker {

  /** What to do with a document longer than T+1 tokens. */
  public enum LongDocPolicy { SPLIT, TRUNCATE, DROP }

  /** Counts for metrics and tests. */
  public static final class Stats {
    public long blocks;
    public long trainedTargets;
    public long paddingSlots;
    public long split;
    public long truncated;
    public long dropped;
    /** Chunks (or short documents) with no trained target, e.g. all prompt under mask-prompt. */
    public long untrained;
  }

  private record Chunk(TokenizedDoc doc, int start, int length, long order) {}

  /**
   * Seeded hash first, then (file name, line, offset, full path): a total order on content
   * identity, so equal hashes (two files of the same name in different directories, say) never
   * leave the result to the order a runner delivered the documents in.
   */
  private static final Comparator<Chunk> BY_KEY = Comparator.comparingLong(Chunk::order)
      .thenComparing(c -> fileName(c.doc().sourceFile()))
      .thenComparingLong(c -> c.doc().line())
      .thenComparingInt(Chunk::start)
      .thenComparing(c -> c.doc().sourceFile());

  private final int seqLength;
  private final LongDocPolicy policy;
  private final long seed;
  private final int padId;
  private final boolean fillGaps;

  public BlockPacker(int seqLength, LongDocPolicy policy, long seed, int padId) {
    this(seqLength, policy, seed, padId, false);
  }

  /**
   * @param fillGaps instead of keeping documents whole, stream them in seed order and cut the
   *     one that does not fit at the block boundary (the rest continues, overlapping by one
   *     token, in the next block): almost no padding, at the cost of context across the cut
   */
  public BlockPacker(int seqLength, LongDocPolicy policy, long seed, int padId, boolean fillGaps) {
    if (seqLength < 2) {
      throw new IllegalArgumentException("train sequence length must be >= 2, got " + seqLength);
    }
    this.seqLength = seqLength;
    this.policy = policy;
    this.seed = seed;
    this.padId = padId;
    this.fillGaps = fillGaps;
  }

  /** Packs all docs, emitting blocks in a seed-shuffled order; returns the counts. */
  public Stats pack(Iterable<TokenizedDoc> docs, Consumer<PackedBlock> out) {
    Stats stats = new Stats();
    List<Chunk> chunks = new ArrayList<>();
    for (TokenizedDoc doc : docs) {
      chunk(doc, chunks, stats);
    }
    List<List<Chunk>> blocks;
    if (fillGaps) {
      chunks.sort(BY_KEY);
      blocks = fill(chunks, stats);
    } else {
      chunks.sort(Comparator.comparingInt(Chunk::length).reversed().thenComparing(BY_KEY));
      blocks = bestFit(chunks);
    }
    Comparator<List<Chunk>> blockOrder = Comparator.comparingLong(
        (List<Chunk> b) -> mix(seed ^ 0x5bd1e995L, b.get(0).order()));
    blocks.sort(blockOrder.thenComparing(b -> b.get(0), BY_KEY));
    for (List<Chunk> b : blocks) {
      PackedBlock block = build(b);
      stats.blocks++;
      stats.trainedTargets += block.trainedTargets();
      for (int seg : block.segments()) {
        stats.paddingSlots += seg == 0 ? 1 : 0;
      }
      out.accept(block);
    }
    return stats;
  }

  private void chunk(TokenizedDoc doc, List<Chunk> chunks, Stats stats) {
    int len = doc.length();
    int max = seqLength + 1;
    if (len < 2) {
      stats.dropped++; // nothing to predict in a one-token document
      return;
    }
    int first = firstTrained(doc);
    if (first < 0) {
      stats.untrained++; // e.g. all prompt under mask-prompt: forward and backward for nothing
      return;
    }
    if (len <= max) {
      chunks.add(new Chunk(doc, 0, len, order(doc, 0)));
      return;
    }
    // The first chunk ends T targets after the first trained one and reaches back T+1 tokens,
    // so a long prompt is cut from the left and the completion keeps its nearest context.
    int firstEnd = Math.min(len, first + seqLength);
    int firstStart = Math.max(0, firstEnd - max);
    switch (policy) {
      case DROP -> stats.dropped++;
      case TRUNCATE -> {
        stats.truncated++;
        chunks.add(new Chunk(doc, firstStart, firstEnd - firstStart, order(doc, firstStart)));
      }
      case SPLIT -> {
        if (fillGaps) { // fill() cuts it where blocks end; at most T tokens of prompt lead in
          int start = Math.max(0, first - seqLength);
          chunks.add(new Chunk(doc, start, len - start, order(doc, start)));
          return;
        }
        stats.split++;
        chunks.add(new Chunk(doc, firstStart, firstEnd - firstStart, order(doc, firstStart)));
        // Later chunks re-read the previous chunk's last token: every target trained once.
        for (int start = firstEnd - 1; start < len - 1; start += seqLength) {
          chunks.add(new Chunk(doc, start, Math.min(max, len - start), order(doc, start)));
        }
      }
    }
  }

  /** Index of the first target with a non-zero weight, or -1 when nothing is trained. */
  private static int firstTrained(TokenizedDoc doc) {
    float[] w = doc.weights();
    for (int j = 1; j < w.length; j++) {
      if (w[j] != 0) {
        return j;
      }
    }
    return -1;
  }

  /** Best-fit: remaining room -> blocks with that much room, smallest room that fits wins. */
  private List<List<Chunk>> bestFit(List<Chunk> chunks) {
    List<List<Chunk>> blocks = new ArrayList<>();
    int[] room = new int[chunks.size()];
    TreeMap<Integer, ArrayDeque<Integer>> byRoom = new TreeMap<>();
    for (Chunk c : chunks) {
      Map.Entry<Integer, ArrayDeque<Integer>> fit = byRoom.ceilingEntry(c.length());
      int b;
      if (fit == null) {
        b = blocks.size();
        blocks.add(new ArrayList<>());
        room[b] = seqLength + 1;
      } else {
        b = fit.getValue().pollFirst();
        if (fit.getValue().isEmpty()) {
          byRoom.remove(fit.getKey());
        }
      }
      blocks.get(b).add(c);
      room[b] -= c.length();
      if (room[b] >= 2) { // a gap of one token can hold nothing trainable
        byRoom.computeIfAbsent(room[b], k -> new ArrayDeque<>()).addLast(b);
      }
    }
    return blocks;
  }

  /** Fills blocks left to right, cutting a document where a block ends (pieces >= minPiece). */
  private List<List<Chunk>> fill(List<Chunk> chunks, Stats stats) {
    int minPiece = Math.max(2, Math.min(32, seqLength / 16));
    List<List<Chunk>> blocks = new ArrayList<>();
    List<Chunk> current = new ArrayList<>();
    int room = seqLength + 1;
    for (Chunk c : chunks) {
      int start = c.start();
      int len = c.length();
      boolean cut = false;
      while (len > 0) {
        if (len <= room) {
          current.add(new Chunk(c.doc(), start, len, order(c.doc(), start)));
          room -= len;
          len = 0;
        } else {
          if (room >= minPiece) {
            current.add(new Chunk(c.doc(), start, room, order(c.doc(), start)));
            start += room - 1; // the next piece re-reads the last token, so no target is lost
            len -= room - 1;
            cut = true;
          }
          room = 0;
        }
        if (room < 2) { // a one-token gap can hold nothing trainable
          blocks.add(current);
          current = new ArrayList<>();
          room = seqLength + 1;
        }
      }
      stats.split += cut ? 1 : 0;
    }
    if (!current.isEmpty()) {
      blocks.add(current);
    }
    return blocks;
  }

  /** Lays chunks out left to right; see {@link PackedBlock} for the exact semantics. */
  private PackedBlock build(List<Chunk> chunks) {
    int[] tokens = new int[seqLength + 1];
    int[] segments = new int[seqLength];
    float[] weights = new float[seqLength];
    int pos = 0;
    int segment = 0;
    for (Chunk c : chunks) {
      segment++;
      System.arraycopy(c.doc().tokens(), c.start(), tokens, pos, c.length());
      for (int k = 0; k < c.length() && pos + k < seqLength; k++) {
        segments[pos + k] = segment;
      }
      // Position pos+k predicts chunk token k+1, i.e. doc token start+k+1; the chunk's last
      // position would predict the next segment's first token and keeps weight 0.
      for (int k = 0; k + 1 < c.length(); k++) {
        weights[pos + k] = c.doc().weights()[c.start() + k + 1];
      }
      pos += c.length();
    }
    java.util.Arrays.fill(tokens, pos, tokens.length, padId);
    return new PackedBlock(tokens, segments, weights);
  }

  private long order(TokenizedDoc doc, int start) {
    long h = mix(seed, fileKey(doc.sourceFile()));
    h = mix(h, doc.line());
    return mix(h, start);
  }

  /**
   * The file's name without its directory, so the same data packs the same way from any checkout
   * or mount point.
   */
  static int fileKey(String path) {
    return fileName(path).hashCode();
  }

  static String fileName(String path) {
    int slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    return path.substring(slash + 1);
  }

  /** SplitMix64-style mixing: cheap, well spread, and the same on every JVM. */
  public static long mix(long a, long b) {
    long z = a * 0x9E3779B97F4A7C15L + b;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}

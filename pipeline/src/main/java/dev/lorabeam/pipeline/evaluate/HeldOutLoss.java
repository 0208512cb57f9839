package dev.lorabeam.pipeline.evaluate;

import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.transforms.render.TokenizedDoc;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Loss and perplexity over every trained target of a set of documents, with mlx_lm.lora --test's
 * semantics: each document is its own row (never packed with another), rows of a batch are
 * right-padded, and the loss is Σ CE over all target tokens / number of target tokens (not a mean of
 * per-batch means). Sums are taken from the engine's per-token cross-entropies in double precision.
 *
 * <p>mlx-lm 0.32's mask is {@code steps <= length} (trainer.default_loss), which keeps one target
 * past each document: the padding id 0 after its last token, whenever the document is shorter than
 * max_seq_length (there is then always a padding column). {@code padTarget} reproduces that, so the
 * numbers equal {@code mlx_lm.lora --test}; without it only the document's own targets count.
 */
public record HeldOutLoss(double loss, long targets, int documents) {

  public double perplexity() {
    return Math.exp(loss);
  }

  /** Evaluates {@code docs} with whatever adapters {@code engine} holds now, {@code batchSize} rows at a time. */
  public static HeldOutLoss of(Engine engine, List<TokenizedDoc> docs, int batchSize, boolean padTarget,
      int maxSeqLength) {
    List<TokenizedDoc> sorted = new ArrayList<>(docs);
    sorted.sort(Comparator.comparingInt(TokenizedDoc::length));  // similar lengths share a batch: less padding
    double sum = 0;
    double weight = 0;
    long targets = 0;
    for (int start = 0; start < sorted.size(); start += batchSize) {
      List<TokenizedDoc> rows = sorted.subList(start, Math.min(sorted.size(), start + batchSize));
      Batch batch = batch(rows, padTarget, maxSeqLength);
      float[] ce = engine.tokenLosses(batch);  // (rows, T), 0 where the weight is 0
      float[] w = batch.weights();
      for (int i = 0; i < ce.length; i++) {
        sum += (double) w[i] * ce[i];
        weight += w[i];
        targets += w[i] > 0 ? 1 : 0;
      }
    }
    return new HeldOutLoss(sum / weight, targets, docs.size());
  }

  /**
   * Rows of T + 1 tokens (T = longest document - 1, or its length with padTarget): document j's
   * tokens, then padding (token 0, segment 0, weight 0); target i of a row is token i + 1 with the
   * document's weight of that token, plus (padTarget) the padding id 0 after a short document.
   */
  static Batch batch(List<TokenizedDoc> rows, boolean padTarget, int maxSeqLength) {
    int seqLen = 1;
    for (TokenizedDoc d : rows) {
      seqLen = Math.max(seqLen, padTarget ? d.length() : d.length() - 1);
    }
    int[] tokens = new int[rows.size() * (seqLen + 1)];  // (rows, T + 1)
    int[] segments = new int[rows.size() * seqLen];  // (rows, T)
    float[] weights = new float[rows.size() * seqLen];  // (rows, T)
    for (int r = 0; r < rows.size(); r++) {
      TokenizedDoc d = rows.get(r);
      System.arraycopy(d.tokens(), 0, tokens, r * (seqLen + 1), d.length());
      for (int i = 0; i < d.length() - 1; i++) {
        segments[r * seqLen + i] = 1;
        weights[r * seqLen + i] = d.weights()[i + 1];
      }
      if (padTarget && d.length() < maxSeqLength) {
        segments[r * seqLen + d.length() - 1] = 1;  // the last token predicts the padding id 0
        weights[r * seqLen + d.length() - 1] = 1f;
      }
    }
    return new Batch(rows.size(), seqLen, tokens, segments, weights);
  }
}

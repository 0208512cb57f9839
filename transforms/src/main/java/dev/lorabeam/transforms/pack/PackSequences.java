package dev.lorabeam.transforms.pack;

import dev.lorabeam.transforms.render.TokenizedDoc;

import dev.lorabeam.transforms.pack.BlockPacker.LongDocPolicy;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Packs {@link TokenizedDoc}s into {@link PackedBlock}s of exactly T+1 tokens. Documents are
 * spread over a fixed number of buckets by a seeded hash of (file, line), and each bucket is
 * packed in memory by {@link BlockPacker}; more buckets = more parallelism and less memory per
 * worker, slightly more padding. Output is the same for a given seed, bucket count and input.
 *
 * <p>Metrics (namespace {@link #METRICS_NAMESPACE}): blocks, target_slots, trained_targets,
 * padding_slots, docs_split, docs_truncated, docs_dropped, chunks_untrained (documents or chunks
 * with no trained target, e.g. all prompt under mask-prompt, which are never packed);
 * {@link #stats} reads them back.
 */
public final class PackSequences extends PTransform<PCollection<TokenizedDoc>, PCollection<PackedBlock>> {

  public static final String METRICS_NAMESPACE = "lorabeam.pack";
  public static final int DEFAULT_SEQ_LENGTH = 512;
  public static final int DEFAULT_BUCKETS = 8;

  private final int seqLength;
  private final LongDocPolicy policy;
  private final long seed;
  private final int buckets;
  private final int padId;
  private final boolean fillGaps;

  private PackSequences(int seqLength, LongDocPolicy policy, long seed, int buckets, int padId,
      boolean fillGaps) {
    this.seqLength = seqLength;
    this.policy = policy;
    this.seed = seed;
    this.buckets = buckets;
    this.padId = padId;
    this.fillGaps = fillGaps;
  }

  /** @param seqLength T: blocks hold T+1 tokens, T inputs and T targets */
  public static PackSequences of(int seqLength) {
    return new PackSequences(seqLength, LongDocPolicy.SPLIT, 0, DEFAULT_BUCKETS, 0, false);
  }

  public PackSequences withPolicy(LongDocPolicy policy) {
    return new PackSequences(seqLength, policy, seed, buckets, padId, fillGaps);
  }

  public PackSequences withSeed(long seed) {
    return new PackSequences(seqLength, policy, seed, buckets, padId, fillGaps);
  }

  public PackSequences withBuckets(int buckets) {
    return new PackSequences(seqLength, policy, seed, buckets, padId, fillGaps);
  }

  /** Cut documents at block ends instead of keeping them whole: ~100% packing efficiency. */
  public PackSequences withFillGaps(boolean fillGaps) {
    return new PackSequences(seqLength, policy, seed, buckets, padId, fillGaps);
  }

  /** Token id written into padding slots (never trained on: segment 0, weight 0). */
  public PackSequences withPadId(int padId) {
    return new PackSequences(seqLength, policy, seed, buckets, padId, fillGaps);
  }

  @Override
  public PCollection<PackedBlock> expand(PCollection<TokenizedDoc> docs) {
    if (seqLength < 2) {
      throw new IllegalArgumentException("--train-seq-length must be >= 2, got " + seqLength);
    }
    if (buckets < 1) {
      throw new IllegalArgumentException("bucket count must be >= 1, got " + buckets);
    }
    return docs
        .apply("AssignBucket", ParDo.of(new BucketFn(seed, buckets)))
        .setCoder(KvCoder.of(VarIntCoder.of(), TokenizedDoc.TokenizedDocCoder.of()))
        .apply("GroupBucket", GroupByKey.create())
        .apply("PackBucket", ParDo.of(new PackFn(seqLength, policy, seed, padId, fillGaps)))
        .setCoder(PackedBlockCoder.of());
  }

  static final class BucketFn extends DoFn<TokenizedDoc, KV<Integer, TokenizedDoc>> {
    private final long seed;
    private final int buckets;

    BucketFn(long seed, int buckets) {
      this.seed = seed;
      this.buckets = buckets;
    }

    @ProcessElement
    public void process(@Element TokenizedDoc doc, OutputReceiver<KV<Integer, TokenizedDoc>> out) {
      long h = BlockPacker.mix(BlockPacker.mix(seed, BlockPacker.fileKey(doc.sourceFile())), doc.line());
      out.output(KV.of((int) Math.floorMod(h, (long) buckets), doc));
    }
  }

  static final class PackFn extends DoFn<KV<Integer, Iterable<TokenizedDoc>>, PackedBlock> {
    private final int seqLength;
    private final LongDocPolicy policy;
    private final long seed;
    private final int padId;
    private final boolean fillGaps;
    private final Counter blocks = Metrics.counter(METRICS_NAMESPACE, "blocks");
    private final Counter slots = Metrics.counter(METRICS_NAMESPACE, "target_slots");
    private final Counter trained = Metrics.counter(METRICS_NAMESPACE, "trained_targets");
    private final Counter padding = Metrics.counter(METRICS_NAMESPACE, "padding_slots");
    private final Counter split = Metrics.counter(METRICS_NAMESPACE, "docs_split");
    private final Counter truncated = Metrics.counter(METRICS_NAMESPACE, "docs_truncated");
    private final Counter dropped = Metrics.counter(METRICS_NAMESPACE, "docs_dropped");
    private final Counter untrained = Metrics.counter(METRICS_NAMESPACE, "chunks_untrained");

    PackFn(int seqLength, LongDocPolicy policy, long seed, int padId, boolean fillGaps) {
      this.seqLength = seqLength;
      this.policy = policy;
      this.seed = seed;
      this.padId = padId;
      this.fillGaps = fillGaps;
    }

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<TokenizedDoc>> bucket,
        OutputReceiver<PackedBlock> out) {
      BlockPacker packer =
          new BlockPacker(seqLength, policy, seed + bucket.getKey(), padId, fillGaps);
      BlockPacker.Stats s = packer.pack(bucket.getValue(), out::output);
      blocks.inc(s.blocks);
      slots.inc(s.blocks * seqLength);
      trained.inc(s.trainedTargets);
      padding.inc(s.paddingSlots);
      split.inc(s.split);
      truncated.inc(s.truncated);
      dropped.inc(s.dropped);
      untrained.inc(s.untrained);
    }
  }

  /** Packing counts of a finished run. */
  public record Stats(long blocks, long targetSlots, long trainedTargets, long paddingSlots,
      long docsSplit, long docsTruncated, long docsDropped, long chunksUntrained) {
    /** Trained tokens / target slots: 1.0 means no padding and no masked targets. */
    public double efficiency() {
      return targetSlots == 0 ? 0 : (double) trainedTargets / targetSlots;
    }
  }

  public static Stats stats(PipelineResult result) {
    return new Stats(counter(result, "blocks"), counter(result, "target_slots"),
        counter(result, "trained_targets"), counter(result, "padding_slots"),
        counter(result, "docs_split"), counter(result, "docs_truncated"),
        counter(result, "docs_dropped"), counter(result, "chunks_untrained"));
  }

  static long counter(PipelineResult result, String name) {
    return counter(result, METRICS_NAMESPACE, name);
  }

  /** Sum of a counter over all steps; committed values where the runner has them. */
  public static long counter(PipelineResult result, String namespace, String name) {
    long total = 0;
    for (MetricResult<Long> c : result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(namespace, name)).build()).getCounters()) {
      try {
        total += c.getCommitted();
      } catch (UnsupportedOperationException e) {
        total += c.getAttempted();
      }
    }
    return total;
  }
}

package dev.lorabeam.pipeline.bench;

import dev.lorabeam.pipeline.train.TrainConfig;
import dev.lorabeam.pipeline.train.TrainJob;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import java.io.IOException;
import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;

/**
 * The train job's Java heap against corpus size: the same shards 1×, 2× or 4× over (the shard
 * files repeated in the manifest, i.e. copies of the corpus), a few training steps each.
 *
 * <p>Run once per size, each in a fresh JVM, e.g. for the State of the Union corpus preprocessed
 * with the demo model's tokenizer ({@code preprocess --data sotu --model smollm2-135m --output S}):
 * {@code mvn -q -pl pipeline exec:java -Dexec.mainClass=dev.lorabeam.pipeline.bench.TrainHeapBenchmark
 * -Dexec.args="S 4 [steps] [T] [train|group-all]"}. {@code group-all} runs, instead of training,
 * the data stage this trainer replaced (every block under one key through a GroupByKey into one
 * list), for comparison. Prints the peak used heap (sum of the heap pools' peaks) and the largest
 * heap left after a garbage collection (a full collection is forced every 0.5 s, so this samples
 * what the job really retains through the whole run).
 */
public final class TrainHeapBenchmark {
  private TrainHeapBenchmark() {}

  public static void main(String[] args) throws Exception {
    Path shards = Path.of(args[0]);
    int copies = Integer.parseInt(args[1]);
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int seq = args.length > 3 ? Integer.parseInt(args[3]) : 512;
    String mode = args.length > 4 ? args[4] : "train";
    Path work = Files.createTempDirectory("lorabeam-heap");
    Path data = copies(shards, copies, work.resolve("data-" + copies + "x"));
    long blocks = ShardManifest.read(data).blocks();
    System.gc();
    resetPeaks();
    AfterGc afterGc = new AfterGc();
    afterGc.install();
    Thread collector = collectEvery(500);
    long start = System.nanoTime();
    if (mode.equals("group-all")) {
      groupAll(data, seq);
    } else {
      TrainConfig config = TrainConfig.builder("smollm2-135m", data.toString())
          .adapterPath(work.resolve("run").toString()).maxSteps(steps).trainSeqLength(seq).batchSize(1)
          .loraLayers(2).saveEvery(0).valBatches(0).build();
      TrainJob.run(config, new String[] {"--enforceImmutability=false", "--enforceEncodability=false"});
    }
    double secs = (System.nanoTime() - start) / 1e9;
    collector.interrupt();
    collector.join();
    System.out.printf("%nheap %s, %d× corpus (%d blocks of T=%d), %.0f s, -Xmx %d MB:%n", mode, copies, blocks, seq,
        secs, Runtime.getRuntime().maxMemory() >> 20);
    System.out.printf("  peak used heap:          %6d MB%n", peakUsed() >> 20);
    System.out.printf("  largest heap after a GC: %6d MB%n", afterGc.max >> 20);
  }

  /** A full collection every {@code millis} ms, so the after-GC heap is sampled through the whole job. */
  private static Thread collectEvery(long millis) {
    Thread t = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(millis);
          System.gc();
        }
      } catch (InterruptedException e) {
        // the job is over
      }
    }, "heap-sampler");
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** A shard directory holding the shards of {@code dir} {@code n} times (hard links, one manifest). */
  static Path copies(Path dir, int n, Path out) throws IOException {
    ShardManifest m = ShardManifest.read(dir);
    Files.createDirectories(out);
    List<ShardManifest.ShardInfo> shards = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      for (ShardManifest.ShardInfo s : m.shards()) {
        String name = "copy" + c + "-" + s.file();
        Path target = out.resolve(name);
        try {
          Files.createLink(target, dir.resolve(s.file()).toAbsolutePath());
        } catch (UnsupportedOperationException | IOException e) {
          Files.copy(dir.resolve(s.file()), target);
        }
        shards.add(new ShardManifest.ShardInfo(name, s.blocks(), s.trainedTargets(), s.tokens(), s.bytes(), s.sha256()));
      }
    }
    ShardManifest.Counts c = m.counts();
    ShardManifest.Counts counts = new ShardManifest.Counts(c.rows() * n, c.deadLetters() * n, c.blocks() * n,
        c.tokens() * n, c.trainedTargets() * n);
    // A different block set: its fingerprint says n copies of the original.
    new ShardManifest(m.formatVersion(), m.settings(), counts, shards, m.sources(),
        m.blockSetFingerprint() + "x" + n, m.deadLetters(), m.createdAt()).write(out.toString());
    return out;
  }

  /** The removed data stage: all blocks under one key, grouped, copied into one list. */
  private static void groupAll(Path data, int seq) throws IOException {
    String fingerprint = ShardManifest.read(data).tokenizerFingerprint();
    Pipeline p = Pipeline.create(PipelineOptionsFactory.fromArgs(
        "--enforceImmutability=false", "--enforceEncodability=false").create());
    p.apply(ReadShards.from(data, fingerprint, seq))
        .apply(WithKeys.of(0))
        .setCoder(KvCoder.of(VarIntCoder.of(), PackedBlockCoder.of()))
        .apply(GroupByKey.create())
        .apply(ParDo.of(new ToListFn()));
    p.run().waitUntilFinish();
  }

  static final class ToListFn extends DoFn<KV<Integer, Iterable<PackedBlock>>, Integer> {
    @ProcessElement
    public void process(@Element KV<Integer, Iterable<PackedBlock>> all, OutputReceiver<Integer> out) {
      List<PackedBlock> blocks = new ArrayList<>();
      all.getValue().forEach(blocks::add);
      out.output(blocks.size());
    }
  }

  private static List<MemoryPoolMXBean> heapPools() {
    return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
  }

  private static void resetPeaks() {
    heapPools().forEach(MemoryPoolMXBean::resetPeakUsage);
  }

  private static long peakUsed() {
    return heapPools().stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
  }

  /**
   * Listens to every garbage collection and keeps the largest heap left after one (summed over
   * the heap pools): what the job retained at its fullest, garbage excluded.
   */
  static final class AfterGc implements NotificationListener {
    private final List<String> heap = heapPools().stream().map(MemoryPoolMXBean::getName).toList();
    volatile long max;

    void install() {
      for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
        ((NotificationEmitter) gc).addNotificationListener(this, null, null);
      }
    }

    @Override
    public void handleNotification(Notification n, Object handback) {
      if (!n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
        return;
      }
      GcInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo();
      long used = info.getMemoryUsageAfterGc().entrySet().stream().filter(e -> heap.contains(e.getKey()))
          .mapToLong(e -> e.getValue().getUsed()).sum();
      max = Math.max(max, used);
    }
  }
}

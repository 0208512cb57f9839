package dev.lorabeam.transforms.jobs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.BlockOptions;
import dev.lorabeam.transforms.TestFiles;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A split gets one pack bucket per 8 MB of JSONL, at most the options' count. Regression (issue 8):
 * with a fixed 8 buckets, a small data set became blocks that were more than half padding, because
 * every bucket packs alone and leaves its own partly filled blocks.
 */
public class PackBucketsTest {
  private static final int T = 512;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void bucketsFollowTheFilesSizeUpToTheOptionsCount() throws Exception {
    BlockOptions options = BlockOptions.of(new GgufTokenizer(TestFiles.demoGguf()), T);
    assertEquals(8, options.packBuckets());
    assertEquals(1, buckets(options, 1_000));
    assertEquals(1, buckets(options, PreprocessJob.BYTES_PER_PACK_BUCKET));
    assertEquals(2, buckets(options, PreprocessJob.BYTES_PER_PACK_BUCKET + 1));
    assertEquals(3, buckets(options, 20L << 20, 1L << 20));
    assertEquals(8, buckets(options, 200L << 20));
    assertEquals(2, buckets(options.withPackBuckets(2), 200L << 20));
  }

  /** Bucket count for files of these sizes (sparse files: no bytes are written). */
  private int buckets(BlockOptions options, long... sizes) throws Exception {
    List<String> files = new java.util.ArrayList<>();
    for (long size : sizes) {
      Path f = tmp.newFile().toPath();
      try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
        raf.setLength(size);
      }
      files.add(f.toString());
    }
    return PreprocessJob.packBucketsFor(options, files).packBuckets();
  }

  @Test
  public void smallDataPacksIntoFullBlocksNotOnePartBlockPerBucket() throws Exception {
    Path data = tmp.newFolder("data").toPath().resolve("train.jsonl");
    Files.write(data, Files.readAllLines(TestFiles.data("sample/train.jsonl")).subList(0, 24));
    BlockOptions options = BlockOptions.of(new GgufTokenizer(TestFiles.demoGguf()), T)
        .withTemplateDate("2026-12-01");
    String auto = tmp.newFolder("auto").toString();
    PreprocessJob.runSplit("train", List.of(data.toString()), options, auto, 2, 0,
        PreprocessJob.defaultOptions());
    // The same rows packed the old way: 8 buckets whatever the size.
    String eight = tmp.newFolder("eight").toString();
    Pipeline p = Pipeline.create(PreprocessJob.defaultOptions());
    PreprocessJob.build(p, List.of(data.toString()), options, eight, 2);
    p.run().waitUntilFinish();
    ShardManifest one = ShardManifest.read(auto);
    ShardManifest old = ShardManifest.read(eight);
    long trained = one.counts().trainedTargets();
    long fewest = (trained + T - 1) / T;
    System.out.printf("24 rows, %d trained targets: %d blocks in %d bucket(s) (%.1f%% of target slots"
            + " trained), %d blocks in 8 buckets (%.1f%%); at least %d blocks%n", trained, one.blocks(),
        one.settings().packBuckets(), 100.0 * trained / (one.blocks() * T), old.blocks(),
        100.0 * trained / (old.blocks() * T), fewest);
    assertEquals(1, one.settings().packBuckets());
    assertEquals(trained, old.counts().trainedTargets());
    assertTrue("one bucket: " + one.blocks() + " blocks for " + fewest + " blocks of targets",
        trained >= 0.75 * one.blocks() * T);
    assertTrue("8 buckets pad more: " + old.blocks() + " vs " + one.blocks(), old.blocks() > one.blocks() + 2);
  }
}

package dev.lorabeam.transforms.shards;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.pack.BlockPacker;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.render.TokenizedDoc;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import dev.lorabeam.transforms.read.SourceFile;
import org.apache.beam.sdk.transforms.View;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ShardsTest {
  @Rule public final transient TestPipeline writePipeline = TestPipeline.create();
  @Rule public final transient TestPipeline readPipeline = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final int T = 32;
  private static final String FP = "ab".repeat(32);

  private static List<PackedBlock> blocks(int docs) {
    Random rnd = new Random(1);
    List<TokenizedDoc> in = new ArrayList<>();
    for (int d = 0; d < docs; d++) {
      int len = 2 + rnd.nextInt(40);
      int[] t = new int[len];
      float[] w = new float[len];
      for (int j = 0; j < len; j++) {
        t[j] = rnd.nextInt(50_000);
        w[j] = j == 0 ? 0 : rnd.nextFloat();
      }
      in.add(new TokenizedDoc(t, w, "f", d + 1));
    }
    List<PackedBlock> out = new ArrayList<>();
    new BlockPacker(T, BlockPacker.LongDocPolicy.SPLIT, 0, 0).pack(in, out::add);
    return out;
  }

  @Test
  public void writeThenReadGivesBackTheSameBlocks() throws Exception {
    List<PackedBlock> input = blocks(200);
    Path dir = tmp.newFolder("shards").toPath();
    PCollection<ShardManifest> manifest = write(writePipeline, input, dir, 3);
    PAssert.thatSingleton(manifest).satisfies(m -> {
      assertEquals(input.size(), m.blocks());
      assertEquals(3, m.shards().size());
      return null;
    });
    writePipeline.run().waitUntilFinish();

    ShardManifest m = ShardManifest.read(dir);
    assertEquals(List.of("a.jsonl"), m.sourceFiles());
    assertEquals(7, m.counts().deadLetters());
    assertEquals(64, m.blockSetFingerprint().length());
    assertEquals(input.stream().mapToLong(PackedBlock::trainedTargets).sum(), m.trainedTargets());
    PCollection<PackedBlock> read = readPipeline.apply(ReadShards.from(dir, FP, T));
    PAssert.that(read).containsInAnyOrder(input);
    readPipeline.run().waitUntilFinish();
  }

  static final ShardSettings SETTINGS = new ShardSettings(T, FP, "test tokenizer", 0, "split", 8,
      false, 0, false, 1 << 20, "off", 2.7, 0, "2026-12-01");

  /** WriteShards as the jobs use it, with one source file and 7 dead letters. */
  static PCollection<ShardManifest> write(org.apache.beam.sdk.Pipeline p, List<PackedBlock> in,
      Path dir, int shards) {
    var sources = p.apply("Sources", Create.of(new SourceFile("a.jsonl", 10, "00", 3)))
        .apply("SourceList", View.asList());
    var dead = p.apply("Dead", Create.of(7L)).apply("DeadCount", View.asSingleton());
    return p.apply("Blocks", Create.of(in).withCoder(PackedBlockCoder.of()))
        .apply(WriteShards.to(dir.toString(), SETTINGS, shards, sources, dead));
  }

  @Test
  public void shardFileIsPlainSafetensors() throws Exception {
    List<PackedBlock> input = blocks(30);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ShardFiles.write(bytes, input, T, FP);
    Safetensors.Contents c =
        Safetensors.read(new ByteArrayInputStream(bytes.toByteArray()), "mem");
    assertArrayEquals(new long[] {input.size(), T + 1}, c.tensors().get("tokens").shape());
    assertEquals("I32", c.tensors().get("segments").dtype());
    assertEquals("F32", c.tensors().get("weights").dtype());
    assertEquals("lorabeam-blocks", c.metadata().get("format"));
    assertEquals(String.valueOf(T), c.metadata().get("seq_length"));
    long headerLength = java.nio.ByteBuffer.wrap(bytes.toByteArray(), 0, 8)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals("header is 8-byte aligned", 0, headerLength % 8);
    List<PackedBlock> back = ShardFiles.read(
        new ByteArrayInputStream(bytes.toByteArray()), "mem", T, FP);
    assertEquals(input, back);
  }

  @Test
  public void truncatedShardSaysSo() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ShardFiles.write(bytes, blocks(10), T, FP);
    byte[] cut = java.util.Arrays.copyOf(bytes.toByteArray(), bytes.size() - 100);
    IOException e = assertThrows(IOException.class,
        () -> ShardFiles.read(new ByteArrayInputStream(cut), "cut.safetensors", T, FP));
    assertTrue(e.getMessage(), e.getMessage().contains("truncated"));
  }

  @Test
  public void directoryWithoutManifestIsRefusedWithTheCommandToRun() throws Exception {
    Path dir = tmp.newFolder("empty").toPath();
    Files.writeString(dir.resolve("shard-00000-of-00001.safetensors"), "x");
    ReadShards.ShardMismatchException e = assertThrows(ReadShards.ShardMismatchException.class,
        () -> ReadShards.checkedManifest(dir, FP, T));
    assertTrue(e.getMessage(), e.getMessage().contains("lorabeam preprocess"));
  }

  /** Writes the blocks of 40 documents into 2 shards and returns the directory. */
  private Path written(String name) throws Exception {
    Path dir = tmp.newFolder(name).toPath();
    org.apache.beam.sdk.Pipeline p = org.apache.beam.sdk.Pipeline.create();
    write(p, blocks(40), dir, 2);
    p.run().waitUntilFinish();
    return dir;
  }

  private static List<PackedBlock> readAll(Path dir) throws IOException {
    ShardManifest m = ReadShards.checkedManifest(dir, FP, T);
    List<PackedBlock> all = new ArrayList<>();
    for (ShardManifest.ShardInfo s : m.shards()) {
      all.addAll(ReadShards.readVerified(dir.toString(), s, T, FP));
    }
    return all;
  }

  @Test
  public void aDirectoryFromAnotherFormatVersionIsRefusedWithTheFix() throws Exception {
    Path dir = written("v1");
    Path manifest = dir.resolve(ShardManifest.FILE_NAME);
    Files.writeString(manifest, Files.readString(manifest)
        .replace("\"format_version\" : 2", "\"format_version\" : 1"));
    ReadShards.ShardMismatchException e = assertThrows(ReadShards.ShardMismatchException.class,
        () -> ReadShards.checkedManifest(dir, FP, T));
    assertTrue(e.getMessage(), e.getMessage().contains("shard format version 1")
        && e.getMessage().contains("re-run lorabeam preprocess") && e.getMessage().contains(dir.toString()));
  }

  @Test
  public void aTruncatedShardOnDiskIsRefusedByName() throws Exception {
    Path dir = written("cut");
    assertEquals(ShardManifest.read(dir).blocks(), readAll(dir).size());
    Path shard = dir.resolve(WriteShards.shardName(0, 2));
    byte[] all = Files.readAllBytes(shard);
    Files.write(shard, java.util.Arrays.copyOf(all, all.length - 64));
    ReadShards.ShardMismatchException e = assertThrows(ReadShards.ShardMismatchException.class,
        () -> readAll(dir));
    assertTrue(e.getMessage(), e.getMessage().contains(shard.getFileName().toString())
        && e.getMessage().contains("truncated") && e.getMessage().contains("Re-run lorabeam preprocess"));
  }

  @Test
  public void aShardWhoseHashDoesNotMatchTheManifestIsRefused() throws Exception {
    Path dir = written("flip");
    Path shard = dir.resolve(WriteShards.shardName(1, 2));
    byte[] all = Files.readAllBytes(shard);
    all[all.length - 5] ^= 1; // one bit of one weight: same size, different content
    Files.write(shard, all);
    ReadShards.ShardMismatchException e = assertThrows(ReadShards.ShardMismatchException.class,
        () -> readAll(dir));
    assertTrue(e.getMessage(), e.getMessage().contains(shard.getFileName().toString())
        && e.getMessage().contains("SHA-256") && e.getMessage().contains("modified"));
  }

  @Test
  public void noTemporaryFilesAreLeftAndTheManifestListsHashesAndCounts() throws Exception {
    Path dir = written("clean");
    try (var files = Files.list(dir)) {
      List<String> names = files.map(f -> f.getFileName().toString()).sorted().toList();
      assertEquals(List.of("manifest.json", WriteShards.shardName(0, 2), WriteShards.shardName(1, 2)),
          names);
    }
    ShardManifest m = ShardManifest.read(dir);
    for (ShardManifest.ShardInfo s : m.shards()) {
      assertEquals(Files.size(dir.resolve(s.file())), s.bytes());
      assertEquals(64, s.sha256().length());
    }
    assertEquals(new ShardManifest.BlockAddress(1, 0), m.locate(m.shards().get(0).blocks()));
  }

  @Test
  public void blockIOfTheSetReadsByRandomAccessAsInSequence() throws Exception {
    Path dir = written("random");
    ShardManifest m = ShardManifest.read(dir);
    List<PackedBlock> sequential = readAll(dir);
    for (long i = m.blocks() - 1; i >= 0; i -= 3) {
      ShardManifest.BlockAddress a = m.locate(i);
      try (ShardReader r = ShardReader.open(dir.toString(), m.shards().get(a.shard()).file(), T)) {
        assertEquals(m.shards().get(a.shard()).blocks(), r.blocks());
        assertEquals("block " + i, sequential.get((int) i), r.block(a.block()));
      }
    }
  }

  @Test
  public void theBlockSetReaderReadsEveryBlockByGlobalIndexWithFewFilesOpen() throws Exception {
    Path dir = written("set");
    List<PackedBlock> sequential = readAll(dir);
    try (BlockSetReader reader = BlockSetReader.open(dir.toString(), FP, T)) {
      assertEquals(sequential.size(), reader.blocks());
      // Backwards, then in a stride, so the reader moves between shards both ways.
      for (long i = reader.blocks() - 1; i >= 0; i--) {
        assertEquals("block " + i, sequential.get((int) i), reader.block(i));
      }
      for (long i = 0; i < reader.blocks(); i += 5) {
        assertEquals("block " + i, sequential.get((int) i), reader.block(i));
      }
      assertThrows(IndexOutOfBoundsException.class, () -> reader.block(reader.blocks()));
    }
    assertThrows(ReadShards.ShardMismatchException.class, () -> BlockSetReader.open(dir.toString(), FP, T * 2));
  }
}

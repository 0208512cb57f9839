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
    PCollection<ShardManifest> manifest = writePipeline
        .apply(Create.of(input).withCoder(PackedBlockCoder.of()))
        .apply(WriteShards.to(dir, T, FP, "test tokenizer").withNumShards(3)
            .withSourceFiles(List.of("a.jsonl")));
    PAssert.thatSingleton(manifest).satisfies(m -> {
      assertEquals(input.size(), m.blocks());
      assertEquals(3, m.shards().size());
      return null;
    });
    writePipeline.run().waitUntilFinish();

    ShardManifest m = ShardManifest.read(dir);
    assertEquals(List.of("a.jsonl"), m.sourceFiles());
    assertEquals(input.stream().mapToLong(PackedBlock::trainedTargets).sum(), m.trainedTargets());
    PCollection<PackedBlock> read = readPipeline.apply(ReadShards.from(dir, FP, T));
    PAssert.that(read).containsInAnyOrder(input);
    readPipeline.run().waitUntilFinish();
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
}

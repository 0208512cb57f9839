package dev.lorabeam.transforms.shards;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.PackedBlock;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ShardReaderTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final int T = 16;
  private static final String FP = "cd".repeat(32);

  private static List<PackedBlock> blocks(int n, long seed) {
    Random rnd = new Random(seed);
    List<PackedBlock> out = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      int[] tokens = new int[T + 1];
      int[] segments = new int[T];
      float[] weights = new float[T];
      for (int i = 0; i < T; i++) {
        tokens[i] = rnd.nextInt(50_000);
        segments[i] = 1 + i / 5;
        weights[i] = rnd.nextFloat();
      }
      tokens[T] = rnd.nextInt(50_000);
      out.add(new PackedBlock(tokens, segments, weights));
    }
    return out;
  }

  /** Shards of the given sizes (0 allowed) filled from {@code all} in order, plus their manifest. */
  private static Path write(Path dir, List<PackedBlock> all, int... sizes) throws IOException {
    Files.createDirectories(dir);
    List<ShardManifest.ShardInfo> infos = new ArrayList<>();
    int next = 0;
    for (int s = 0; s < sizes.length; s++) {
      String name = String.format("shard-%05d-of-%05d.safetensors", s, sizes.length);
      List<PackedBlock> part = all.subList(next, next + sizes[s]);
      next += sizes[s];
      try (OutputStream out = Files.newOutputStream(dir.resolve(name))) {
        ShardFiles.write(out, part, T, FP);
      }
      infos.add(new ShardManifest.ShardInfo(name, part.size(), 0));
    }
    new ShardManifest(ShardManifest.FORMAT_VERSION, T, FP, "test", all.size(), 0, infos, List.of(),
        ShardManifest.DEAD_LETTERS_FILE, "created " + System.nanoTime()).write(dir);
    return dir;
  }

  @Test
  public void readsEveryBlockByGlobalIndexAcrossShardsIncludingAnEmptyOne() throws IOException {
    List<PackedBlock> all = blocks(23, 1);
    Path dir = write(tmp.newFolder("d").toPath(), all, 7, 0, 10, 6);
    try (ShardReader reader = ShardReader.open(dir, FP, T)) {
      assertEquals(23, reader.blocks());
      // Backwards and in a stride, so the LRU of open files opens and closes shards.
      for (int i = 22; i >= 0; i--) {
        assertEquals("block " + i, all.get(i), reader.block(i));
      }
      for (int i = 0; i < 23; i += 5) {
        assertEquals("block " + i, all.get(i), reader.block(i));
      }
      assertThrows(IndexOutOfBoundsException.class, () -> reader.block(23));
    }
  }

  @Test
  public void theFingerprintIsTheBlocksNotWhenOrWhereTheyWereWritten() throws IOException {
    List<PackedBlock> all = blocks(12, 2);
    String a = fingerprint(write(tmp.newFolder("a").toPath(), all, 5, 7));
    String b = fingerprint(write(tmp.newFolder("b").toPath(), all, 5, 7));
    assertEquals("same blocks, other directory and time", a, b);
    List<PackedBlock> changed = new ArrayList<>(all);
    PackedBlock first = all.get(0);
    float[] w = first.weights().clone();
    w[3] += 1;
    changed.set(0, new PackedBlock(first.tokens(), first.segments(), w));
    assertNotEquals("one weight changed", a, fingerprint(write(tmp.newFolder("c").toPath(), changed, 5, 7)));
    List<PackedBlock> more = new ArrayList<>(all);
    more.addAll(blocks(1, 3));
    assertNotEquals("one block more", a, fingerprint(write(tmp.newFolder("e").toPath(), more, 5, 8)));
  }

  @Test
  public void aTruncatedShardIsOneMessageNamingTheFile() throws IOException {
    Path dir = write(tmp.newFolder("t").toPath(), blocks(9, 4), 4, 5);
    Path second = dir.resolve("shard-00001-of-00002.safetensors");
    try (FileChannel ch = FileChannel.open(second, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 10);
    }
    try (ShardReader reader = ShardReader.open(dir, FP, T)) {
      assertEquals(blocks(9, 4).get(0), reader.block(0));
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> reader.block(6));
      assertTrue(e.getMessage(), e.getMessage().contains(second.toString()) && e.getMessage().contains("truncated")
          && e.getMessage().contains("preprocess"));
    }
  }

  @Test
  public void shardsOfAnotherLengthAreRefusedWithBothValues() throws IOException {
    Path dir = write(tmp.newFolder("l").toPath(), blocks(3, 5), 3);
    ReadShards.ShardMismatchException e =
        assertThrows(ReadShards.ShardMismatchException.class, () -> ShardReader.open(dir, FP, 32));
    assertTrue(e.getMessage(), e.getMessage().contains("16") && e.getMessage().contains("32"));
  }

  private static String fingerprint(Path dir) {
    try (ShardReader reader = ShardReader.open(dir, FP, T)) {
      return reader.contentFingerprint();
    }
  }
}

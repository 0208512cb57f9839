package dev.lorabeam.pipeline.flink;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.shards.Safetensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

/**
 * Compares two preprocess outputs: first as sorted sets of blocks (same content whatever the
 * order), then byte for byte per shard file (what "same data, same shards" promises).
 */
final class ShardAssert {
  private static final List<String> TENSORS = List.of("tokens", "segments", "weights");

  private ShardAssert() {}

  /** Both splits of two {@code preprocess --output} directories: OUTPUT and OUTPUT/valid. */
  static void assertSameShards(Path expected, Path actual) throws IOException {
    assertSameSplit(expected, actual);
    assertSameSplit(expected.resolve("valid"), actual.resolve("valid"));
  }

  static void assertSameSplit(Path expected, Path actual) throws IOException {
    List<String> names = shardNames(expected);
    assertTrue("no shards in " + expected, !names.isEmpty());
    assertEquals("shard files of " + actual + " vs " + expected, names, shardNames(actual));
    List<String> want = sortedBlocks(expected, names);
    List<String> got = sortedBlocks(actual, names);
    assertEquals("blocks in " + actual, want.size(), got.size());
    assertEquals("the sorted blocks of " + actual + " differ from " + expected
        + " (different content, not only another order)", want, got);
    for (String name : names) {
      byte[] wantFile = Files.readAllBytes(expected.resolve(name));
      byte[] gotFile = Files.readAllBytes(actual.resolve(name));
      assertArrayEquals(actual.resolve(name) + " holds the same set of blocks as " + expected
          + " but not in the same order: packing or shard assignment depends on element order",
          afterHeader(wantFile), afterHeader(gotFile));
      assertArrayEquals(actual.resolve(name) + " has the same blocks in the same order as "
          + expected + " but another safetensors header (" + header(gotFile) + " vs " + header(wantFile)
          + "): the header must not depend on the JVM (e.g. Map.of iteration order)", wantFile, gotFile);
    }
  }

  /** The tensor bytes of a safetensors file: everything after its u64 length and JSON header. */
  private static byte[] afterHeader(byte[] file) {
    long n = ByteBuffer.wrap(file, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    return java.util.Arrays.copyOfRange(file, (int) (8 + n), file.length);
  }

  private static String header(byte[] file) {
    long n = ByteBuffer.wrap(file, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    String json = new String(file, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8).strip();
    return json.substring(0, Math.min(json.length(), 200));
  }

  private static List<String> shardNames(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("shard-") && n.endsWith(".safetensors")).sorted().toList();
    }
  }

  /** Every block of every shard as one string (its rows of tokens, segments, weights), sorted. */
  private static List<String> sortedBlocks(Path dir, List<String> names) throws IOException {
    List<String> blocks = new ArrayList<>();
    for (String name : names) {
      Safetensors.Contents c;
      try (InputStream in = Files.newInputStream(dir.resolve(name))) {
        c = Safetensors.read(in, name);
      }
      int n = (int) c.tensors().get("tokens").shape()[0];
      List<byte[]> tensors = TENSORS.stream().map(t -> bytes(c.tensors().get(t).data())).toList();
      for (int i = 0; i < n; i++) {
        StringBuilder block = new StringBuilder();
        for (byte[] t : tensors) {
          int row = t.length / n;
          block.append(Base64.getEncoder().encodeToString(
              java.util.Arrays.copyOfRange(t, i * row, (i + 1) * row))).append('|');
        }
        blocks.add(block.toString());
      }
    }
    Collections.sort(blocks);
    return blocks;
  }

  private static byte[] bytes(ByteBuffer data) {
    byte[] out = new byte[data.remaining()];
    data.duplicate().get(out);
    return out;
  }
}

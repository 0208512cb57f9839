package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/**
 * Reads the blocks of a shard directory written by {@link WriteShards}, so training can start
 * from prepared data. Refuses (at pipeline construction) a directory made with another tokenizer
 * or another T, with a message naming both and the command that fixes it.
 */
public final class ReadShards extends PTransform<PBegin, PCollection<PackedBlock>> {

  private final String dir;
  private final String fingerprint;
  private final int seqLength;

  private ReadShards(String dir, String fingerprint, int seqLength) {
    this.dir = dir;
    this.fingerprint = fingerprint;
    this.seqLength = seqLength;
  }

  /** @param fingerprint {@code TextTokenizer.fingerprint()} of the model about to be trained */
  public static ReadShards from(Path dir, String fingerprint, int seqLength) {
    return new ReadShards(dir.toAbsolutePath().toString(), fingerprint, seqLength);
  }

  /** Thrown when shards do not fit the model or T being trained. */
  public static final class ShardMismatchException extends IllegalArgumentException {
    public ShardMismatchException(String message) {
      super(message);
    }
  }

  /** Reads and checks the manifest; also usable without a pipeline. */
  public static ShardManifest checkedManifest(Path dir, String fingerprint, int seqLength) {
    ShardManifest m;
    try {
      m = ShardManifest.read(dir);
    } catch (IOException e) {
      throw new ShardMismatchException(e.getMessage());
    }
    if (m.seqLength() != seqLength) {
      throw new ShardMismatchException("shards in " + dir + " were packed for "
          + "--train-seq-length " + m.seqLength() + ", but this run uses " + seqLength
          + ". Use --train-seq-length " + m.seqLength() + ", or re-run lorabeam preprocess "
          + "with --train-seq-length " + seqLength + ".");
    }
    if (!m.tokenizerFingerprint().equals(fingerprint)) {
      throw new ShardMismatchException("shards in " + dir + " were made with tokenizer "
          + m.tokenizer() + " (fingerprint " + m.tokenizerFingerprint().substring(0, 12)
          + "…), not the tokenizer of this model (fingerprint " + fingerprint.substring(0, 12)
          + "…). Re-run lorabeam preprocess with this --model, or train the model the shards "
          + "were made for.");
    }
    return m;
  }

  @Override
  public PCollection<PackedBlock> expand(PBegin input) {
    ShardManifest m = checkedManifest(Path.of(dir), fingerprint, seqLength);
    List<String> files = m.shards().stream().map(s -> Path.of(dir, s.file()).toString()).toList();
    return input
        .apply("ShardFiles", Create.of(files).withCoder(
            org.apache.beam.sdk.coders.StringUtf8Coder.of()))
        .apply("SpreadFiles", Reshuffle.viaRandomKey())
        .apply("ReadShard", ParDo.of(new ReadShardFn(seqLength, fingerprint)))
        .setCoder(PackedBlockCoder.of());
  }

  static final class ReadShardFn extends DoFn<String, PackedBlock> {
    private final int seqLength;
    private final String fingerprint;

    ReadShardFn(int seqLength, String fingerprint) {
      this.seqLength = seqLength;
      this.fingerprint = fingerprint;
    }

    @ProcessElement
    public void process(@Element String file, OutputReceiver<PackedBlock> out) {
      try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(Path.of(file)))) {
        ShardFiles.read(in, file, seqLength, fingerprint).forEach(out::output);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read shard " + file, e);
      }
    }
  }
}

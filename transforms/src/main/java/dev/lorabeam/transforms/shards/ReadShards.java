package dev.lorabeam.transforms.shards;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.pack.PackedBlockCoder;
import dev.lorabeam.transforms.shards.ShardManifest.ShardInfo;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.beam.sdk.coders.SerializableCoder;
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
  public static final class ShardMismatchException extends UserError {
    private static final long serialVersionUID = 1L;

    public ShardMismatchException(String message) {
      super(message);
    }
  }

  /** Reads and checks the manifest; also usable without a pipeline. */
  public static ShardManifest checkedManifest(Path dir, String fingerprint, int seqLength) {
    return checkedManifest(dir.toAbsolutePath().toString(), fingerprint, seqLength);
  }

  public static ShardManifest checkedManifest(String dir, String fingerprint, int seqLength) {
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
    ShardManifest m = checkedManifest(dir, fingerprint, seqLength);
    return input
        .apply("ShardFiles", Create.of(m.shards()).withCoder(SerializableCoder.of(ShardInfo.class)))
        .apply("SpreadFiles", Reshuffle.viaRandomKey())
        .apply("ReadShard", ParDo.of(new ReadShardFn(dir, seqLength, fingerprint)))
        .setCoder(PackedBlockCoder.of());
  }

  /**
   * Reads every block of one shard, checking its size and SHA-256 against the manifest while it
   * streams: a truncated, damaged or replaced shard is refused with its name and the fix.
   */
  public static List<PackedBlock> readVerified(String dir, ShardInfo shard, int seqLength,
      String fingerprint) throws IOException {
    String name = BeamFiles.file(dir, shard.file()).toString();
    long size = BeamFiles.size(dir, shard.file());
    if (size < 0) {
      throw new ShardMismatchException(name + " is listed in " + ShardManifest.FILE_NAME
          + " but missing; the directory is incomplete. " + REDO);
    }
    if (size != shard.bytes()) {
      throw new ShardMismatchException(name + " is " + size + " bytes but "
          + ShardManifest.FILE_NAME + " says " + shard.bytes() + (size < shard.bytes()
              ? " (truncated: an interrupted copy?). " : ". ") + REDO);
    }
    Digests.Counting sink = new Digests.Counting(OutputStream.nullOutputStream());
    List<PackedBlock> blocks;
    try (InputStream in = new TeeInputStream(
        new BufferedInputStream(BeamFiles.open(dir, shard.file()), 1 << 16), sink)) {
      blocks = ShardFiles.read(in, name, seqLength, fingerprint);
      in.transferTo(OutputStream.nullOutputStream());
    }
    if (!sink.hex().equals(shard.sha256())) {
      throw new ShardMismatchException(name + " has SHA-256 " + abbrev(sink.hex()) + " but "
          + ShardManifest.FILE_NAME + " says " + abbrev(shard.sha256())
          + ": the shard was modified after it was written. " + REDO);
    }
    if (blocks.size() != shard.blocks()) {
      throw new ShardMismatchException(name + " holds " + blocks.size() + " blocks but "
          + ShardManifest.FILE_NAME + " says " + shard.blocks() + ". " + REDO);
    }
    return blocks;
  }

  private static final String REDO =
      "Re-run lorabeam preprocess into an empty --output directory (or copy the directory again).";

  private static String abbrev(String hex) {
    return hex.length() > 12 ? hex.substring(0, 12) + "…" : hex;
  }

  static final class ReadShardFn extends DoFn<ShardInfo, PackedBlock> {
    private final String dir;
    private final int seqLength;
    private final String fingerprint;

    ReadShardFn(String dir, int seqLength, String fingerprint) {
      this.dir = dir;
      this.seqLength = seqLength;
      this.fingerprint = fingerprint;
    }

    @ProcessElement
    public void process(@Element ShardInfo shard, OutputReceiver<PackedBlock> out)
        throws IOException {
      readVerified(dir, shard, seqLength, fingerprint).forEach(out::output);
    }
  }
}

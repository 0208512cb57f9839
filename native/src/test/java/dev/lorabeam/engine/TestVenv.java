package dev.lorabeam.engine;

import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import dev.lorabeam.engine.bench.PythonVenv;
import java.util.Optional;

/**
 * The project venv for tests that need its Python packages (mlx-lm, gguf): under {@code CI=true} a
 * venv that is missing or incomplete fails the test class; elsewhere it skips it.
 */
final class TestVenv {
  private TestVenv() {}

  /** The venv, or a failure (CI) / skip (elsewhere) naming {@code tests} and what is wrong. */
  static PythonVenv require(String tests) {
    PythonVenv venv = PythonVenv.locate();
    Optional<String> problem = venv.problem();
    if (problem.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("CI must run the " + tests + " with the project venv: " + problem.get());
      }
      assumeTrue("skipping the " + tests + " outside CI: " + problem.get(), false);
    }
    return venv;
  }
}

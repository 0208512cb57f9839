package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import dev.lorabeam.engine.bench.PythonVenv;
import java.util.Optional;

/** The project venv for tests that compare against the Python peers: required under CI, a skip elsewhere. */
final class PeerVenv {
  private PeerVenv() {}

  /** @param purpose what the test checks against the peer, for the CI failure message */
  static PythonVenv require(String purpose) {
    PythonVenv venv = PythonVenv.locate();
    Optional<String> problem = venv.problem();
    if (problem.isPresent()) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("CI must " + purpose + ": " + problem.get());
      }
      assumeTrue("skipping outside CI: " + problem.get(), false);
    }
    return venv;
  }
}

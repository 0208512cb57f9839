package dev.lorabeam.pipeline.train;

import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.Mlx;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one engine of this process. A runner may create several {@link TrainLoraFn} instances in one
 * JVM (one per thread or bundle); they all share this engine, so a model is never loaded twice.
 * Opening with a different configuration while one is open is a programming error.
 */
final class EngineHolder {
  private static final Logger LOG = LoggerFactory.getLogger(EngineHolder.class);

  private static Engine engine;
  private static EngineConfig config;
  private static int opens;

  private EngineHolder() {}

  /** The shared engine for {@code wanted}, opening it on first use. */
  static synchronized Engine acquire(EngineConfig wanted) {
    if (engine == null) {
      long before = Mlx.activeMemory();
      engine = Engine.open(wanted);
      config = wanted;
      opens++;
      LOG.debug("engine opened ({} MB active before, {} MB after)", before >> 20, Mlx.activeMemory() >> 20);
    } else if (!config.equals(wanted)) {
      throw new IllegalStateException("a second engine with another configuration was requested in one process");
    }
    return engine;
  }

  /**
   * An engine for {@code wanted} with freshly initialised adapters and optimizer state: a new
   * session must not inherit what an earlier session (a failed bundle, say) left in a live engine.
   */
  static synchronized Engine acquireFresh(EngineConfig wanted) {
    close();
    return acquire(wanted);
  }

  /**
   * Closes the engine (all of its native memory is returned) and opens it again from the base
   * weights plus the checkpoint's adapters and optimizer state.
   */
  static synchronized Engine reload(Path checkpointDir) {
    EngineConfig wanted = config;
    close();
    Mlx.clearCache();
    Engine fresh = acquire(wanted);
    fresh.loadAdapters(checkpointDir);
    fresh.loadOptimizerState(checkpointDir.resolve(CheckpointStore.OPTIMIZER_FILE));
    return fresh;
  }

  static synchronized void close() {
    if (engine != null) {
      engine.close();
      engine = null;
    }
  }

  /** How many times an engine was opened in this process (for tests of the reload cadence). */
  static synchronized int opens() {
    return opens;
  }
}

package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.pipeline.train.CheckpointStore.Checkpoint;
import dev.lorabeam.pipeline.train.CheckpointStore.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Checkpoints are atomic: whatever moment a run is killed at, {@link CheckpointStore#latest}
 * returns a complete checkpoint or the previous one, never a partial one.
 */
public class CheckpointStoreTest {
  @Rule public TemporaryFolder folder = new TemporaryFolder();

  private Path adapters;
  private CheckpointStore store;
  private TrainConfig config;

  @Before
  public void setUp() {
    adapters = folder.getRoot().toPath().resolve("adapters");
    config = TrainConfig.builder("smollm2-135m", "data/sample").adapterPath(adapters.toString())
        .keepCheckpoints(2).seed(7).build();
    store = CheckpointStore.of(config);
  }

  @Test
  public void commitWritesTheLayoutManifestAndPublishesAdapters() throws IOException {
    Checkpoint c = save(100, "A");
    assertEquals(adapters.resolve("checkpoints/step-000100"), c.dir());
    for (String f : List.of("adapters.safetensors", "adapter_config.json", "optimizer.safetensors", "manifest.json")) {
      assertTrue(f, Files.isRegularFile(c.dir().resolve(f)));
    }
    assertEquals("adapters A", Files.readString(adapters.resolve("adapters.safetensors")));
    assertEquals("config A", Files.readString(adapters.resolve("adapter_config.json")));

    Manifest m = store.latest().orElseThrow().manifest();
    assertEquals(CheckpointStore.FORMAT_VERSION, m.formatVersion());
    assertEquals(100, m.step());
    assertEquals(51200, m.tokensSeen());
    assertEquals(100, m.nextIndex());
    assertEquals(1, m.epoch());
    assertEquals(7, m.seed());
    assertEquals("fp-1", m.dataFingerprint());
    assertEquals(config, m.trainConfig());
    assertEquals(DurableFiles.sha256(c.adapters()), m.sha256().get("adapters.safetensors"));
    assertEquals(3, m.sha256().size());
    String json = Files.readString(c.dir().resolve("manifest.json"));
    assertTrue("config is embedded as an object:\n" + json, json.contains("\"config\" : {"));
  }

  @Test
  public void latestIsTheHighestStepAndOnlyTheLastKAreKept() throws IOException {
    save(100, "A");
    save(200, "B");
    save(300, "C");
    assertEquals(300, store.latest().orElseThrow().step());
    assertEquals(List.of(200L, 300L), store.stepDirs());
    assertEquals("adapters C", Files.readString(adapters.resolve("adapters.safetensors")));
  }

  @Test
  public void killedBeforeTheManifestLeavesOnlyATmpDirThatIsNeverReturned() throws IOException {
    save(100, "A");
    Path tmp = store.begin(200);
    Files.writeString(tmp.resolve("adapters.safetensors"), "adapters B");
    // ... kill -9 here: no manifest, no rename.
    CheckpointStore afterRestart = CheckpointStore.of(config);
    assertEquals(100, afterRestart.latest().orElseThrow().step());
    save(300, "C");
    assertFalse("stale tmp removed at the next commit", Files.exists(tmp));
  }

  @Test
  public void aStepDirectoryWithoutManifestIsSkipped() throws IOException {
    save(100, "A");
    Path partial = store.root().resolve("step-000200");
    Files.createDirectories(partial);
    Files.writeString(partial.resolve("adapters.safetensors"), "adapters B");
    assertEquals(100, store.latest().orElseThrow().step());
  }

  @Test
  public void aTruncatedFileFailsItsHashAndTheRunFallsBackToThePreviousCheckpoint() throws IOException {
    save(100, "A");
    Checkpoint b = save(200, "B");
    Files.write(b.optimizer(), new byte[] {1, 2});
    assertEquals(100, store.latest().orElseThrow().step());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> CheckpointStore.verify(b.dir()));
    assertTrue(e.getMessage(), e.getMessage().contains("optimizer.safetensors does not match its SHA-256"));
  }

  @Test
  public void aHalfWrittenManifestIsSkipped() throws IOException {
    save(100, "A");
    Checkpoint b = save(200, "B");
    Path manifest = b.dir().resolve("manifest.json");
    byte[] full = Files.readAllBytes(manifest);
    Files.write(manifest, java.util.Arrays.copyOf(full, full.length / 2));
    assertEquals(100, store.latest().orElseThrow().step());
  }

  @Test
  public void nothingCompleteMeansEmpty() throws IOException {
    assertEquals(Optional.empty(), store.latest());
    Path tmp = store.begin(100);
    Files.writeString(tmp.resolve("adapters.safetensors"), "x");
    assertEquals(Optional.empty(), store.latest());
  }

  @Test
  public void commitRefusesACheckpointWithoutOptimizerState() throws IOException {
    Path tmp = store.begin(100);
    Files.writeString(tmp.resolve("adapters.safetensors"), "x");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> store.commit(tmp, Manifest.of(100, 0, 100, 0, 0, "fp", config)));
    assertTrue(e.getMessage(), e.getMessage().contains("has no optimizer.safetensors"));
  }

  @Test
  public void committingTheSameStepAgainReplacesIt() throws IOException {
    save(100, "A");
    save(100, "A2");
    Checkpoint latest = store.latest().orElseThrow();
    assertEquals("adapters A2", Files.readString(latest.adapters()));
    try (Stream<Path> left = Files.list(store.root())) {
      assertArrayEquals(new String[] {"step-000100"}, left.map(p -> p.getFileName().toString()).toArray());
    }
  }

  @Test
  public void manifestFromAnotherFormatVersionIsRefusedWithAMessage() throws IOException {
    Checkpoint c = save(100, "A");
    Path manifest = c.dir().resolve("manifest.json");
    Files.writeString(manifest, Files.readString(manifest).replace("\"formatVersion\" : 1", "\"formatVersion\" : 9"));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> CheckpointStore.verify(c.dir()));
    assertTrue(e.getMessage(), e.getMessage().contains("checkpoint format 9, this build reads format 1"));
  }

  private Checkpoint save(long step, String tag) throws IOException {
    Path tmp = store.begin(step);
    assertTrue(tmp.getFileName().toString().startsWith(".tmp-step-" + String.format("%06d", step) + "-"));
    Files.writeString(tmp.resolve("adapters.safetensors"), "adapters " + tag, StandardCharsets.UTF_8);
    Files.writeString(tmp.resolve("adapter_config.json"), "config " + tag, StandardCharsets.UTF_8);
    Files.writeString(tmp.resolve("optimizer.safetensors"), "optimizer " + tag, StandardCharsets.UTF_8);
    return store.commit(tmp, Manifest.of(step, step * 512, step, 0, 1, "fp-1", config));
  }
}

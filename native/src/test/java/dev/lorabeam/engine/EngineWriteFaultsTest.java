package dev.lorabeam.engine;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A native file write that fails (a full disk, injected as ENOSPC through {@link WriteFaults}) is an
 * {@link MlxException} naming the file, errno and the bytes, never a crash; the file it was replacing
 * is untouched and no partial or temp file is left.
 */
public class EngineWriteFaultsTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static Engine engine;

  @BeforeClass
  public static void open() throws Exception {
    engine = Engine.open(TinyModels.config(TinyModels.llama(TMP.newFolder("tiny").toPath(), 5)));
  }

  @AfterClass
  public static void close() {
    engine.close();
  }

  @After
  public void noFaultLeftArmed() {
    WriteFaults.clear();
  }

  @Test
  public void eachWriteOfTheAdaptersFailingLeavesThePreviousFilesWhole() throws Exception {
    Path dir = TMP.newFolder("adapters").toPath();
    engine.saveAdapters(dir);
    byte[] adapters = Files.readAllBytes(dir.resolve("adapters.safetensors"));
    byte[] config = Files.readAllBytes(dir.resolve("adapter_config.json"));
    // adapters.safetensors' writes 1–4: the length prefix, the JSON header, the first two tensors.
    for (int nth : new int[] {1, 2, 3, 4}) {
      WriteFaults.failNthNativeWrite(nth, WriteFaults.ENOSPC);
      MlxException e = assertThrows(MlxException.class, () -> engine.saveAdapters(dir));
      String m = e.getMessage();
      System.out.println("write " + nth + ": " + m);
      assertTrue(m, m.contains("No space left on device (errno 28)"));
      assertTrue(m, m.contains(dir.toString()) && m.contains(" bytes; ") && m.contains("free"));
      assertTrue(m, m.contains("the partial file was removed"));
      assertArrayEquals("write " + nth, adapters, Files.readAllBytes(dir.resolve("adapters.safetensors")));
      assertArrayEquals("write " + nth, config, Files.readAllBytes(dir.resolve("adapter_config.json")));
      assertEquals("no temp file left after write " + nth, List.of("adapter_config.json", "adapters.safetensors"),
          names(dir));
    }
    WriteFaults.failNthNativeWrite(1000, WriteFaults.ENOSPC);  // armed, never reached
    engine.saveAdapters(dir);
    assertArrayEquals("the engine still writes after the failures", adapters,
        Files.readAllBytes(dir.resolve("adapters.safetensors")));
  }

  @Test
  public void aFailedOptimizerWriteNamesTheFileAndKeepsTheOldOne() throws Exception {
    Path file = TMP.newFolder("optimizer").toPath().resolve("optimizer.safetensors");
    engine.saveOptimizerState(file);
    byte[] before = Files.readAllBytes(file);
    WriteFaults.failNthNativeWrite(3, WriteFaults.ENOSPC);
    MlxException e = assertThrows(MlxException.class, () -> engine.saveOptimizerState(file));
    assertTrue(e.getMessage(), e.getMessage().startsWith("saveOptimizerState to " + file + " failed: "));
    assertTrue(e.getMessage(), e.getMessage().contains("No space left on device (errno 28) after "));
    assertArrayEquals(before, Files.readAllBytes(file));
    assertEquals(List.of("optimizer.safetensors"), names(file.getParent()));
  }

  @Test
  public void aDirectoryThatCannotBeCreatedIsNamed() throws Exception {
    Path blocker = TMP.newFile("not-a-directory").toPath();
    MlxException e = assertThrows(MlxException.class, () -> engine.saveAdapters(blocker.resolve("sub")));
    assertTrue(e.getMessage(), e.getMessage().contains(blocker.toString()));
  }

  private static List<String> names(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}

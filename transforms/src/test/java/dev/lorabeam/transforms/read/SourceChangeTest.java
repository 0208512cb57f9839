package dev.lorabeam.transforms.read;

import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** A source file that grows while it is read stops the run with the file and the sizes. */
public class SourceChangeTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void aFileThatGrewWhileReadIsRefusedWithItsNameAndSizes() throws Exception {
    Path file = tmp.newFile("nightly.jsonl").toPath();
    Files.writeString(file, "{\"text\": \"a\"}\n");
    MatchResult.Metadata before = FileSystems.matchSingleFileSpec(file.toString());
    SourceChange.check(before, before.sizeBytes()); // unchanged: fine
    Files.writeString(file, "{\"text\": \"b\"}\n", StandardOpenOption.APPEND);
    SourceChange.SourceChangedException e = assertThrows(SourceChange.SourceChangedException.class,
        () -> SourceChange.check(before, before.sizeBytes()));
    assertTrue(e.getMessage(), e.getMessage().contains("nightly.jsonl changed while it was being read"));
    assertTrue(e.getMessage(), e.getMessage().contains("14 bytes when listed, 14 read, 28 now"));
  }
}

package dev.lorabeam.transforms.read;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.read.DeadLetter.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A row is valid only when the whole line is exactly one JSON object (issue 10.1): regression
 * tests for a UTF-8 BOM losing a Windows file's first row, and for text after the object being
 * silently dropped.
 */
public class WholeLineTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final ExampleParser PARSER = new ExampleParser(1 << 20);

  private static ExampleParser.Outcome parse(String line) {
    byte[] raw = line.getBytes(StandardCharsets.UTF_8);
    return PARSER.parse("f.jsonl", 7, raw, raw.length);
  }

  @Test
  public void textAfterTheObjectIsTrailingContentWithItsColumn() {
    DeadLetter d = parse("{\"text\": \"a\"} trailing").deadLetter();
    assertEquals(Reason.TRAILING_CONTENT, d.reason());
    assertTrue(d.detail(), d.detail().contains("column 15"));
    assertEquals(7, d.line());
    DeadLetter two = parse("{\"text\": \"a\"}{\"text\": \"b\"}").deadLetter();
    assertEquals(Reason.TRAILING_CONTENT, two.reason());
    assertTrue(two.detail(), two.detail().contains("column 14"));
    DeadLetter spaced = parse("{\"text\": \"a\"}   {\"text\": \"b\"}").deadLetter();
    assertTrue(spaced.detail(), spaced.detail().contains("column 17"));
  }

  @Test
  public void surroundingWhitespaceIsStillOneObject() {
    assertNotNull(parse("  {\"text\": \"a\"}  \t").example());
    assertNull(parse("{\"text\": \"a\"}").deadLetter());
  }

  @Test
  public void existingReasonsAreKept() {
    assertEquals(Reason.INVALID_JSON, parse("{\"text\": ").deadLetter().reason());
    assertEquals(Reason.NOT_AN_OBJECT, parse("[1, 2]").deadLetter().reason());
    assertEquals(Reason.TRAILING_CONTENT, parse("[1] x").deadLetter().reason());
  }

  @Test
  public void bomAtFileStartAndCrlfKeepTheirRowsAndFileLineIsKept() throws Exception {
    Path file = tmp.newFile("windows.jsonl").toPath();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
    bytes.write(("{\"text\": \"first\"}\r\n"
        + "{\"text\": \"second\"} extra\r\n"
        + "{\"text\": \"third\"}{\"text\": \"fourth\"}\r\n"
        + "{\"text\": \"fifth\"}\r\n").getBytes(StandardCharsets.UTF_8));
    Files.write(file, bytes.toByteArray());
    long size = bytes.size();
    PCollectionTuple read = pipeline.apply(ReadExamples.from(file.toString()));
    PAssert.that(read.get(ReadExamples.EXAMPLES)).satisfies(rows -> {
      Map<Long, String> texts = new TreeMap<>();
      rows.forEach(e -> texts.put(e.line(), e.text()));
      assertEquals(Map.of(1L, "first", 4L, "fifth"), texts);
      return null;
    });
    PAssert.that(read.get(ReadExamples.DEAD_LETTERS)).satisfies(dead -> {
      Map<Long, String> where = new TreeMap<>();
      for (DeadLetter d : dead) {
        assertEquals(Reason.TRAILING_CONTENT, d.reason());
        assertTrue(d.file(), d.file().endsWith("windows.jsonl"));
        where.put(d.line(), d.detail().replaceAll(".*column (\\d+).*", "$1"));
      }
      assertEquals(Map.of(2L, "20", 3L, "18"), where);
      return null;
    });
    PAssert.that(read.get(ReadExamples.SOURCES)).satisfies(files -> {
      SourceFile f = files.iterator().next();
      assertEquals(size, f.bytes());
      assertEquals(4, f.lines());
      assertEquals(64, f.sha256().length());
      return null;
    });
    pipeline.run().waitUntilFinish();
  }
}

package dev.lorabeam.transforms.read;

import dev.lorabeam.transforms.TestFiles;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.read.DeadLetter.Reason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.Rule;
import org.junit.Test;

/** data/bad/malformed.jsonl holds one row of every bad kind, between good rows. */
public class ReadExamplesTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private static final String MALFORMED = TestFiles.data("bad/malformed.jsonl").toString();

  /** Line number -> expected reason, for every bad row in the file. */
  private static Map<Long, Reason> expectedBadRows() {
    Map<Long, Reason> m = new TreeMap<>();
    m.put(2L, Reason.EMPTY_LINE);
    m.put(3L, Reason.INVALID_JSON);
    m.put(4L, Reason.NOT_AN_OBJECT);
    m.put(5L, Reason.INVALID_UTF8);
    m.put(6L, Reason.ROW_TOO_LONG);
    m.put(7L, Reason.UNKNOWN_FORMAT);
    m.put(8L, Reason.AMBIGUOUS_FORMAT);
    m.put(9L, Reason.WRONG_TYPE);
    m.put(10L, Reason.MISSING_CONTENT);
    m.put(11L, Reason.UNKNOWN_ROLE);
    m.put(12L, Reason.OUT_OF_RANGE);
    m.put(13L, Reason.OUT_OF_RANGE);
    m.put(14L, Reason.MISSING_CONTENT);
    m.put(15L, Reason.WRONG_TYPE);
    m.put(16L, Reason.MISSING_CONTENT);
    return m;
  }

  @Test
  public void everyBadRowKindIsDeadLetteredWithLineAndReason() {
    PCollectionTuple read = pipeline.apply(ReadExamples.from(MALFORMED).withMaxRowBytes(256));
    PAssert.that(read.get(ReadExamples.DEAD_LETTERS)).satisfies(dead -> {
      Map<Long, Reason> actual = new TreeMap<>();
      for (DeadLetter d : dead) {
        actual.put(d.line(), d.reason());
        assertTrue(d.file(), d.file().endsWith("malformed.jsonl"));
        assertTrue("detail says what is wrong: " + d, !d.detail().isBlank());
      }
      assertEquals(expectedBadRows(), actual);
      return null;
    });
    PAssert.that(read.get(ReadExamples.EXAMPLES)).satisfies(examples -> {
      List<Long> lines = new ArrayList<>();
      for (Example e : examples) {
        lines.add(e.line());
        checkGoodRow(e);
      }
      lines.sort(null);
      assertEquals(List.of(1L, 17L, 18L, 19L, 20L), lines);
      return null;
    });
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    BadRowReport report = BadRowReport.from(result);
    assertEquals(5, report.goodRows());
    assertEquals(15, report.badTotal());
    assertEquals(Long.valueOf(2), report.badRows().get(Reason.OUT_OF_RANGE));
    BadRowReport.BadInputException e = assertThrows(BadRowReport.BadInputException.class,
        () -> report.check(BadRowReport.DEFAULT_MAX_BAD_FRACTION, "out/dead-letters.jsonl"));
    assertTrue(e.getMessage(), e.getMessage().contains("15 of 20 rows bad (75.00%)"));
    assertTrue(e.getMessage(), e.getMessage().contains("MISSING_CONTENT 3"));
    assertTrue(e.getMessage(), e.getMessage().contains("--max-bad-fraction"));
  }

  private static void checkGoodRow(Example e) {
    switch ((int) e.line()) {
      case 17 -> assertEquals("CR of a CRLF line is not content", "good row with CRLF", e.text());
      case 18 -> {
        assertEquals(Example.Format.CHAT, e.format());
        assertTrue(e.toolsJson(), e.toolsJson().contains("noop"));
        assertEquals("{\"source_type\":\"chat\"}", e.passthroughJson());
      }
      case 19 -> {
        assertEquals(Example.Format.COMPLETION, e.format());
        assertEquals(0.5, e.authWeight(), 0);
        assertEquals(3.0, e.provEntropy(), 0);
      }
      case 20 -> assertEquals("{\"year\":1790}", e.passthroughJson());
      default -> assertEquals(Example.Format.TEXT, e.format());
    }
  }

  @Test
  public void thresholdPassesWhenFewRowsAreBad() {
    BadRowReport report = new BadRowReport(995, Map.of(Reason.INVALID_JSON, 5L));
    assertEquals(0.005, report.check(0.01, "dead.jsonl").badFraction(), 1e-12);
    assertThrows(BadRowReport.BadInputException.class, () -> report.check(0.001, "dead.jsonl"));
  }

  @Test
  public void parserMessagesNameTheFieldAndTheFix() {
    ExampleParser p = new ExampleParser(1024);
    DeadLetter d = p.parse("f.jsonl", 7, "{\"text\": \"a\", \"auth_weight\": 2}"
        .getBytes(StandardCharsets.UTF_8), 31).deadLetter();
    assertEquals("field 'auth_weight' is 2.0 but must be in [0, 0.99]", d.detail());
    assertEquals("f.jsonl:7: OUT_OF_RANGE: field 'auth_weight' is 2.0 but must be in [0, 0.99]",
        d.toString());
    assertTrue(d.toJson(), d.toJson().startsWith("{\"file\":\"f.jsonl\",\"line\":7,"));
  }

  @Test
  public void sampleDataHasNoBadRows() {
    PCollectionTuple read = pipeline.apply(ReadExamples.from(List.of(
        TestFiles.data("sample/*.jsonl").toString(), TestFiles.data("chat/*.jsonl").toString(),
        TestFiles.data("distrust/*.jsonl").toString())));
    PAssert.that(read.get(ReadExamples.DEAD_LETTERS)).empty();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    assertTrue(BadRowReport.from(result).goodRows() > 1690);
  }
}

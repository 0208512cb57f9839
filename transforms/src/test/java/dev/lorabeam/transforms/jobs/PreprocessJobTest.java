package dev.lorabeam.transforms.jobs;

import dev.lorabeam.transforms.TestFiles;

import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.read.BadRowReport;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.transforms.shards.ReadShards;
import dev.lorabeam.transforms.shards.ShardManifest;
import dev.lorabeam.transforms.tokenizer.GgufTokenizer;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollection;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** preprocess end to end on the real sample data with the demo model's tokenizer. */
public class PreprocessJobTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static TextTokenizer tok;

  @BeforeClass
  public static void open() {
    tok = new GgufTokenizer(TestFiles.demoGguf());
  }

  @Test
  public void sampleDataBecomesShardsThatReadBackWithTheSameTargets() throws Exception {
    Path out = tmp.newFolder("shards").toPath();
    PreprocessSummary s = PreprocessJob.run(PreprocessConfig.of(
        TestFiles.data("sample").toString(), tok, out).withSeqLength(512).withSeed(3));
    System.out.println("SUMMARY " + s);
    PreprocessSummary.Split train = s.split("train");
    assertEquals(1540, train.rows().goodRows());
    assertEquals(0, train.rows().badTotal());
    assertEquals(150, s.split("valid").rows().goodRows());
    assertTrue("efficiency " + train.pack().efficiency(), train.pack().efficiency() > 0.85);
    // Text rows train on every token but the first: tokens - docs targets in total.
    assertEquals(train.tokens() - 1540, train.pack().trainedTargets());

    ShardManifest m = ShardManifest.read(out);
    assertTrue(ShardManifest.exists(out.resolve("valid")));
    assertEquals(512, m.seqLength());
    assertEquals(tok.fingerprint(), m.tokenizerFingerprint());
    assertEquals(train.pack().blocks(), m.blocks());
    assertEquals(train.pack().trainedTargets(), m.trainedTargets());
    assertTrue(m.sourceFiles().get(0).endsWith("data/sample/train.jsonl"));
    assertTrue(Files.exists(out.resolve(ShardManifest.DEAD_LETTERS_FILE)));

    PCollection<PackedBlock> blocks =
        pipeline.apply(ReadShards.from(out, tok.fingerprint(), 512));
    PAssert.that(blocks).satisfies(bs -> {
      long n = 0;
      long trained = 0;
      for (PackedBlock b : bs) {
        assertEquals(513, b.tokens().length);
        n++;
        trained += b.trainedTargets();
      }
      assertEquals(m.blocks(), n);
      assertEquals(m.trainedTargets(), trained);
      return null;
    });
    pipeline.run().waitUntilFinish();
    assertPythonReads(out, m);
  }

  @Test
  public void shardsForAnotherTOrTokenizerAreRefused() throws Exception {
    Path out = tmp.newFolder("refuse").toPath();
    PreprocessJob.run(PreprocessConfig.of(TestFiles.data("chat/train.jsonl").toString(), tok, out)
        .withSeqLength(64).withMaskPrompt(true));
    Path dir = out;
    ReadShards.ShardMismatchException t = assertThrows(ReadShards.ShardMismatchException.class,
        () -> ReadShards.checkedManifest(dir, tok.fingerprint(), 128));
    assertTrue(t.getMessage(), t.getMessage().contains("--train-seq-length 64"));
    ReadShards.ShardMismatchException f = assertThrows(ReadShards.ShardMismatchException.class,
        () -> ReadShards.checkedManifest(dir, "0".repeat(64), 64));
    assertTrue(f.getMessage(), f.getMessage().contains("Re-run lorabeam preprocess with this --model"));
    assertEquals(64, ReadShards.checkedManifest(dir, tok.fingerprint(), 64).seqLength());
  }

  @Test
  public void tooManyBadRowsFailWithSummaryAndLeaveNoManifest() throws Exception {
    Path out = tmp.newFolder("bad").toPath();
    BadRowReport.BadInputException e = assertThrows(BadRowReport.BadInputException.class,
        () -> PreprocessJob.run(PreprocessConfig.of(
            TestFiles.data("bad/malformed.jsonl").toString(), tok, out).withMaxRowBytes(256)));
    assertTrue(e.getMessage(), e.getMessage().contains("15 of 20 rows bad"));
    Path dir = out;
    assertFalse(ShardManifest.exists(dir));
    List<String> dead = Files.readAllLines(dir.resolve(ShardManifest.DEAD_LETTERS_FILE));
    assertEquals(15, dead.size());
    assertTrue(dead.stream().anyMatch(l -> l.contains("\"line\":5,\"reason\":\"INVALID_UTF8\"")));
  }

  /** The format is readable without this project: numpy + safetensors from the venv. */
  private static void assertPythonReads(Path dir, ShardManifest m) throws Exception {
    Path python = Path.of(System.getProperty("lorabeam.venv"), "bin", "python");
    String script = "import json,sys,glob\nfrom safetensors.numpy import load_file\n"
        + "n=0;w=0\nfor f in sorted(glob.glob(sys.argv[1]+'/shard-*.safetensors')):\n"
        + "  t=load_file(f); n+=t['tokens'].shape[0]; w+=int((t['weights']!=0).sum())\n"
        + "  assert t['tokens'].shape[1]==t['segments'].shape[1]+1\n"
        + "print(n, w)\n";
    Process p = new ProcessBuilder(python.toString(), "-c", script, dir.toString())
        .redirectError(new File(dir.toFile(), "python.err")).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    String outText = new String(p.getInputStream().readAllBytes()).trim();
    assertEquals("python stderr in " + dir, 0, p.exitValue());
    assertEquals(m.blocks() + " " + m.trainedTargets(), outText);
  }
}

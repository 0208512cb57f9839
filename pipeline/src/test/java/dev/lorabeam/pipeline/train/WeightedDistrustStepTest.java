package dev.lorabeam.pipeline.train;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.transforms.read.Example;
import dev.lorabeam.transforms.render.DistrustWeights;
import dev.lorabeam.transforms.pack.PackSequences;
import dev.lorabeam.transforms.pack.PackedBlock;
import dev.lorabeam.transforms.render.Tokenize;
import dev.lorabeam.transforms.pack.TrainBatch;
import dev.lorabeam.transforms.tokenizer.HfTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Weighted distrust end to end on the production path: examples with auth_weight/prov_entropy →
 * {@code Tokenize} with the trainer's {@link DistrustWeights.ExampleWeight} → {@code PackSequences} →
 * the trainer's engine batch → one compiled engine step. The step's gradient must be
 * Σ_d w_d N_d g_d / N: each document's own mean-CE gradient g_d over its N_d targets, times its
 * distrust weight w_d, over the step's N trained targets. Under the old Σw normalisation a batch of
 * weight-3 documents trained exactly like a batch of weight-1 ones; here it trains 3× as hard.
 */
public class WeightedDistrustStepTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  @Rule public final transient TestPipeline pipeline = TestPipeline.create().enableAbandonedNodeEnforcement(true);

  private static final int SEQ_LEN = 96;
  private static final double ALPHA = 2.7;
  private static final ConcurrentLinkedQueue<PackedBlock> PACKED = new ConcurrentLinkedQueue<>();

  @Test
  public void stepGradientIsTheDistrustWeightedSumOfDocumentGradientsOverTrainedTokens() throws Exception {
    Path model = TinyLlama.write(TMP.newFolder("model").toPath(), 3);
    double[][] annotations = {{0.05, 7.0}, {0.90, 1.0}, {0.50, 3.0}};  // primary, authoritative, in between
    String[] texts = {"The ship's log of 1852, page four: wind from the west.",
        "The encyclopedia says the voyage was uneventful.", "A letter quoting the log, copied in 1901."};
    List<Example> examples = new ArrayList<>();
    double meanLemp = 0;
    for (int i = 0; i < texts.length; i++) {
      examples.add(new Example("docs.jsonl", i + 1, Example.Format.TEXT, texts[i], List.of(), null, null, null,
          annotations[i][0], annotations[i][1], "{}"));
      meanLemp += Distrust.empirical(annotations[i][0], annotations[i][1], ALPHA) / texts.length;
    }
    DistrustWeights.ExampleWeight weight = new DistrustWeights.ExampleWeight(ALPHA, meanLemp);
    List<PackedBlock> blocks = pack(model, examples, weight);
    Batch batch = TrainingSession.toEngineBatch(new TrainBatch(blocks));

    List<Document> docs = documents(blocks);
    double[] found = docs.stream().mapToDouble(Document::weight).sorted().toArray();
    double[] promised = examples.stream().mapToDouble(weight::apply).sorted().toArray();
    System.out.printf("distrust weights: in the packed blocks %s, from the formula %s%n", Arrays.toString(found),
        Arrays.toString(promised));
    assertArrayEquals("each document's targets carry its distrust weight", promised, found, 1e-6);

    EngineConfig config = EngineConfig.defaults(model).withLora(4, 20.0, 0.0, -1, null)
        .withAdam(0.0, 0.999, 1e-8, 0.0, false).withSeed(7);  // beta1 = 0: m = the step's gradient
    try (Engine engine = Engine.open(config)) {
      engine.step(batch, 1e-4);  // lora_b starts at 0; one real step gives every adapter a gradient
      float[] combined = gradientAt(engine, batch);
      double[] expected = new double[combined.length];
      long n = 0;
      for (Document d : docs) {
        float[] g = gradientAt(engine, d.alone());
        for (int i = 0; i < g.length; i++) {
          expected[i] += d.weight() * d.trained() * g[i];
        }
        n += d.trained();
      }
      double maxDiff = 0;
      double maxAbs = 0;
      for (int i = 0; i < combined.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(combined[i] - expected[i] / n));
        maxAbs = Math.max(maxAbs, Math.abs(combined[i]));
      }
      System.out.printf("distrust step: %d documents in %d rows, N = %d, max |g - Σ w_d N_d g_d / N| = %.3e"
          + " (max |g| %.3e)%n", docs.size(), blocks.size(), n, maxDiff, maxAbs);
      assertTrue("the gradient is not trivially 0: " + maxAbs, maxAbs > 1e-4);
      assertTrue("max diff " + maxDiff, maxDiff <= 1e-5);
      printWeightThreeVersusOne(engine, docs.get(0));
    }
  }

  /** The README's measured example: one document alone at weight 3 vs weight 1. */
  private static void printWeightThreeVersusOne(Engine engine, Document d) {
    Batch one = d.alone();
    float[] w3 = one.weights().clone();
    for (int i = 0; i < w3.length; i++) {
      w3[i] *= 3;
    }
    double n1 = norm(gradientAt(engine, one));
    double n3 = norm(gradientAt(engine, new Batch(one.rows(), one.seqLen(), one.tokens(), one.segments(), w3)));
    System.out.printf("one document, its own batch: gradient norm %.5f at weight 1, %.5f at weight 3 (ratio %.4f)%n",
        n1, n3, n3 / n1);
    assertEquals(3.0, n3 / n1, 1e-4);
  }

  private List<PackedBlock> pack(Path model, List<Example> examples, DistrustWeights.ExampleWeight weight) {
    PACKED.clear();
    PCollection<PackedBlock> blocks = pipeline.apply("Examples", Create.of(examples))
        .apply("Tokenize", Tokenize.with(HfTokenizer.fromFiles(model.resolve("tokenizer.json")))
            .withExampleWeight(weight))
        .get(Tokenize.DOCS)
        .apply("Pack", PackSequences.of(SEQ_LEN).withSeed(1));
    PAssert.that(blocks).satisfies(all -> {
      all.forEach(PACKED::add);
      return null;
    });
    pipeline.run().waitUntilFinish();
    return new ArrayList<>(PACKED);
  }

  /** The gradient of the compiled step at the current adapters (lr 0 leaves them unchanged). */
  private static float[] gradientAt(Engine engine, Batch batch) {
    engine.step(batch, 0.0);
    return engine.firstMoment();
  }

  /**
   * One document cut out of a packed block: inputs [from, to] and the target after each; alone() is
   * that document as a batch of its own with weight 1 on its trained targets.
   */
  private record Document(PackedBlock block, int from, int to, double weight, long trained) {
    Batch alone() {
      int len = to - from + 1;
      int[] tokens = Arrays.copyOfRange(block.tokens(), from, to + 2);
      int[] segments = new int[len];
      float[] weights = new float[len];
      Arrays.fill(segments, 1);
      for (int i = 0; i < len; i++) {
        weights[i] = block.weights()[from + i] > 0 ? 1f : 0f;
      }
      return new Batch(1, len, tokens, segments, weights);
    }
  }

  private static List<Document> documents(List<PackedBlock> blocks) {
    List<Document> docs = new ArrayList<>();
    for (PackedBlock b : blocks) {
      int[] seg = b.segments();
      for (int i = 0; i < seg.length; ) {
        int j = i;
        while (j + 1 < seg.length && seg[j + 1] == seg[i]) {
          j++;
        }
        if (seg[i] != 0) {
          double w = 0;
          long trained = 0;
          for (int k = i; k <= j; k++) {
            if (b.weights()[k] > 0) {
              assertTrue("one weight per document", w == 0 || Math.abs(w - b.weights()[k]) < 1e-6);
              w = b.weights()[k];
              trained++;
            }
          }
          docs.add(new Document(b, i, j, w, trained));
        }
        i = j + 1;
      }
    }
    return docs;
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    return Math.sqrt(s);
  }
}

package dev.lorabeam.transforms.render;

import dev.lorabeam.transforms.read.DeadLetter;
import dev.lorabeam.transforms.read.Example;

import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Examples to {@link TokenizedDoc}s through {@link DocumentRenderer}. Rows the chat template
 * rejects (e.g. roles that do not alternate) go to {@link #DEAD_LETTERS} as TEMPLATE_ERROR.
 *
 * <p>An optional per-example weight (the distrust weighting, supplied by the trainer) multiplies
 * every token weight of that example.
 */
public final class Tokenize extends PTransform<PCollection<Example>, PCollectionTuple> {

  public static final TupleTag<TokenizedDoc> DOCS = new TupleTag<>() {};
  public static final TupleTag<DeadLetter> DEAD_LETTERS = new TupleTag<>() {};
  public static final String METRICS_NAMESPACE = "lorabeam.tokenize";

  private final TextTokenizer tokenizer;
  private final boolean maskPrompt;
  private final @Nullable SerializableFunction<Example, Double> exampleWeight;
  private final @Nullable String templateDate;

  private Tokenize(TextTokenizer tokenizer, boolean maskPrompt,
      @Nullable SerializableFunction<Example, Double> exampleWeight,
      @Nullable String templateDate) {
    this.tokenizer = tokenizer;
    this.maskPrompt = maskPrompt;
    this.exampleWeight = exampleWeight;
    this.templateDate = templateDate;
  }

  public static Tokenize with(TextTokenizer tokenizer) {
    return new Tokenize(tokenizer, false, null, null);
  }

  /** Weight 0 on prompt tokens: chat = all but the final assistant turn; completions = prompt. */
  public Tokenize withMaskPrompt(boolean maskPrompt) {
    return new Tokenize(tokenizer, maskPrompt, exampleWeight, templateDate);
  }

  /** Multiplies each example's token weights by {@code weight.apply(example)} (must be >= 0). */
  public Tokenize withExampleWeight(SerializableFunction<Example, Double> weight) {
    return new Tokenize(tokenizer, maskPrompt, weight, templateDate);
  }

  /** Pins what {@code strftime_now} renders (ISO yyyy-MM-dd), so tomorrow tokenizes the same. */
  public Tokenize withTemplateDate(String isoDate) {
    return new Tokenize(tokenizer, maskPrompt, exampleWeight, isoDate);
  }

  @Override
  public PCollectionTuple expand(PCollection<Example> input) {
    return input.apply("RenderAndEncode",
        ParDo.of(new TokenizeFn(tokenizer, maskPrompt, exampleWeight, templateDate))
            .withOutputTags(DOCS, TupleTagList.of(DEAD_LETTERS)));
  }

  static final class TokenizeFn extends DoFn<Example, TokenizedDoc> {
    private final TextTokenizer tokenizer;
    private final boolean maskPrompt;
    private final @Nullable SerializableFunction<Example, Double> exampleWeight;
    private final Counter docs = Metrics.counter(METRICS_NAMESPACE, "docs");
    private final Counter tokens = Metrics.counter(METRICS_NAMESPACE, "tokens");
    private final Counter rejected = Metrics.counter(METRICS_NAMESPACE, "template_errors");
    private final @Nullable String templateDate;
    private transient DocumentRenderer renderer;

    TokenizeFn(TextTokenizer tokenizer, boolean maskPrompt,
        @Nullable SerializableFunction<Example, Double> exampleWeight,
        @Nullable String templateDate) {
      this.templateDate = templateDate;
      this.tokenizer = tokenizer;
      this.maskPrompt = maskPrompt;
      this.exampleWeight = exampleWeight;
    }

    @Setup
    public void setup() {
      tokenizer.open();
      renderer = new DocumentRenderer(tokenizer, maskPrompt,
          templateDate == null ? null : java.time.LocalDate.parse(templateDate));
    }

    @ProcessElement
    public void process(@Element Example example, MultiOutputReceiver out) {
      TokenizedDoc doc;
      try {
        doc = renderer.render(example);
      } catch (RuntimeException e) {
        rejected.inc();
        out.get(DEAD_LETTERS).output(new DeadLetter(example.sourceFile(), example.line(),
            DeadLetter.Reason.TEMPLATE_ERROR, e.getMessage(), example.toString()));
        return;
      }
      docs.inc();
      tokens.inc(doc.length());
      out.get(DOCS).output(exampleWeight == null ? doc : scale(doc, example));
    }

    private TokenizedDoc scale(TokenizedDoc doc, Example example) {
      double w = exampleWeight.apply(example);
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException("example weight for " + example.where()
            + " is " + w + "; weights must be finite and >= 0");
      }
      float[] weights = doc.weights().clone();
      for (int j = 0; j < weights.length; j++) {
        weights[j] *= (float) w;
      }
      return new TokenizedDoc(doc.tokens(), weights, doc.sourceFile(), doc.line());
    }
  }
}

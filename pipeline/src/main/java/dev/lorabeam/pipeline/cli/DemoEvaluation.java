package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.LossResult;
import dev.lorabeam.transforms.render.DocumentRenderer;
import dev.lorabeam.transforms.read.ExampleParser;
import dev.lorabeam.transforms.render.TokenizedDoc;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The demo's before/after numbers: the validation loss over every trained token of a JSONL file,
 * each document scored alone (as {@code mlx_lm.lora --test} does), with the base model and with the
 * adapters; and the same prompt's greedy generation with each.
 *
 * The demo then fuses the adapters and runs {@code evaluate} on the fused model (see DemoCommand).
 */
final class DemoEvaluation {
  /** Documents per evaluation batch. */
  static final int ROWS = 8;
  private final Path model;
  private final TextTokenizer tokenizer;
  private final List<TokenizedDoc> docs;

  DemoEvaluation(Path model, TextTokenizer tokenizer, Path validJsonl, boolean maskPrompt) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.docs = render(tokenizer, validJsonl, maskPrompt);
  }

  /** Plain CE over every trained token of the file; {@code adapters} null = the base model. */
  double loss(EngineConfig config, @Nullable Path adapters) {
    double weighted = 0;
    double weights = 0;
    try (Engine engine = open(config, adapters)) {
      for (int start = 0; start < docs.size(); start += ROWS) {
        LossResult r = engine.evalLoss(asBatch(docs.subList(start, Math.min(docs.size(), start + ROWS))));
        weighted += r.loss() * r.trainedTokens();  // evalLoss is the mean over the batch's trained tokens
        weights += r.trainedTokens();
      }
    }
    return weighted / weights;
  }

  /** Greedy continuation of the prompt as a user turn through the chat template. */
  String generate(EngineConfig config, @Nullable Path adapters, String prompt, int maxTokens) {
    int[] ids = GenerateCommand.encodeChat(tokenizer, null, prompt, false);
    try (Engine engine = open(config, adapters)) {
      int[] out = engine.generate(ids, maxTokens, 0, 1, 0, new int[] {tokenizer.eosId()});
      return tokenizer.decode(GenerateCommand.withoutStop(out, tokenizer.eosId())).strip();
    }
  }

  int documents() {
    return docs.size();
  }

  private Engine open(EngineConfig config, @Nullable Path adapters) {
    Engine engine = Engine.open(config.withModel(model));
    if (adapters != null) {
      engine.loadAdapters(adapters);
    }
    return engine;
  }

  /**
   * One document per row, right-padded to the longest (segment 0, weight 0 on padding), so each is
   * scored alone: inputs tokens[:-1], targets tokens[1:] with their weights.
   */
  private static Batch asBatch(List<TokenizedDoc> rows) {
    int t = rows.stream().mapToInt(TokenizedDoc::length).max().orElse(2) - 1;
    int[] tokens = new int[rows.size() * (t + 1)];
    int[] segments = new int[rows.size() * t];
    float[] weights = new float[rows.size() * t];
    for (int r = 0; r < rows.size(); r++) {
      TokenizedDoc d = rows.get(r);
      System.arraycopy(d.tokens(), 0, tokens, r * (t + 1), d.length());
      Arrays.fill(segments, r * t, r * t + d.length() - 1, 1);
      System.arraycopy(d.weights(), 1, weights, r * t, d.length() - 1);
    }
    return new Batch(rows.size(), t, tokens, segments, weights);
  }

  private static List<TokenizedDoc> render(TextTokenizer tokenizer, Path file, boolean maskPrompt) {
    ExampleParser parser = new ExampleParser(1 << 20);
    DocumentRenderer renderer = new DocumentRenderer(tokenizer, maskPrompt);
    List<TokenizedDoc> out = new ArrayList<>();
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      for (int i = 0; i < lines.size(); i++) {
        byte[] raw = lines.get(i).getBytes(StandardCharsets.UTF_8);
        ExampleParser.Outcome o = parser.parse(file.toString(), i + 1, raw, raw.length);
        if (o.deadLetter() != null) {
          throw new UserError(file + ":" + (i + 1) + ": " + o.deadLetter().detail());
        }
        TokenizedDoc doc = renderer.render(o.example());
        if (doc.trainedTargets() > 0) {
          out.add(doc);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return out;
  }
}

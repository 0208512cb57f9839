package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.pipeline.evaluate.EvalDocuments;
import dev.lorabeam.pipeline.evaluate.HeldOutLoss;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code evaluate}: held-out loss and perplexity of the base model and, with adapters, of the
 * adapted model, side by side, with mlx_lm.lora --test's per-document semantics.
 */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    defaultValueProvider = ConfigDefaults.class,
    description = "Loss and perplexity over every trained token of test.jsonl (or valid.jsonl), base vs adapted.")
public final class EvaluateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ConfigOption configFile;

  @Mixin ModelFlags model;

  @Mixin ModelFlags.Adapters adapters;

  @Option(names = "--data", defaultValue = "data", description = "Directory with test.jsonl / valid.jsonl, or a JSONL file (default: ${DEFAULT-VALUE}).")
  Path data;

  @Option(names = "--split", defaultValue = "test", description = "test (falls back to valid.jsonl when there is no test.jsonl) or valid (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--batch-size", defaultValue = "4", description = "Documents per forward pass (default: ${DEFAULT-VALUE}); does not change the result.")
  int batchSize;

  @Option(names = "--max-seq-length", defaultValue = "2048", description = "Tokens per document; longer ones are cut, like mlx-lm (default: ${DEFAULT-VALUE}).")
  int maxSeqLength;

  @Option(names = "--mask-prompt", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Score only completions / final assistant turns, as train --mask-prompt does.")
  boolean maskPrompt;

  @Option(names = "--mlx-lm-pad-target", negatable = true, arity = "0..1", paramLabel = "BOOL", defaultValue = "true", fallbackValue = "true",
      description = "Also score the padding id 0 after each document, as mlx_lm.lora --test 0.32 does (its mask is steps <= length), so the numbers equal mlx-lm's; --no-mlx-lm-pad-target scores only the documents' own tokens (default: ${DEFAULT-VALUE}).")
  boolean padTarget;

  @Mixin ModelFlags.QuantizeOnLoad quantize;

  @Override
  public Integer call() {
    if (!split.equals("test") && !split.equals("valid")) {
      throw new UserError("--split must be test or valid (got " + split + ")");
    }
    if (batchSize < 1 || maxSeqLength < 2) {
      throw new UserError("--batch-size must be ≥ 1 and --max-seq-length ≥ 2 (got " + batchSize + ", " + maxSeqLength + ")");
    }
    quantize.check();
    adapters.check();
    ResolvedModel resolved = model.resolve();
    Path file = EvalDocuments.splitFile(data, split);
    EvalDocuments docs;
    try {
      docs = EvalDocuments.read(file, resolved.tokenizer(), maskPrompt, maxSeqLength);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    PrintWriter out = spec.commandLine().getOut();
    out.printf(Locale.ROOT, "%s: %d documents, %d target tokens%s%n", file, docs.docs().size(), docs.targets(),
        docs.truncated() > 0 ? " (" + docs.truncated() + " cut to " + maxSeqLength + " tokens)" : "");
    EngineConfig config = adapters.applyTo(EngineConfig.defaults(resolved.path()).withQuantizeBits(quantize.bits()));
    try (Engine engine = Engine.open(config)) {
      print(out, "base", HeldOutLoss.of(engine, docs.docs(), batchSize, padTarget, maxSeqLength));  // fresh adapters: B = 0
      if (adapters.path() != null) {
        engine.loadAdapters(adapters.path());
        print(out, "adapted", HeldOutLoss.of(engine, docs.docs(), batchSize, padTarget, maxSeqLength));
      }
    }
    out.flush();
    return 0;
  }

  private static void print(PrintWriter out, String what, HeldOutLoss r) {
    out.printf(Locale.ROOT, "%-8s loss %.4f, perplexity %.4f%n", what + ":", r.loss(), r.perplexity());
  }
}

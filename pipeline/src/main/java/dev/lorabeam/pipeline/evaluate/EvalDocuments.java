package dev.lorabeam.pipeline.evaluate;

import dev.lorabeam.transforms.UserError;
import dev.lorabeam.transforms.render.DocumentRenderer;
import dev.lorabeam.transforms.read.ExampleParser;
import dev.lorabeam.transforms.read.ExampleParser.Outcome;
import dev.lorabeam.transforms.read.ReadExamples;
import dev.lorabeam.transforms.render.TokenizedDoc;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The documents of one held-out split, tokenized the way training renders them (and the way
 * mlx-lm's datasets do): one {@link TokenizedDoc} per JSONL row, cut to {@code maxSeqLength}
 * tokens like mlx-lm's batching. A row that does not parse stops the evaluation with its file,
 * line and reason.
 */
public record EvalDocuments(Path file, List<TokenizedDoc> docs, int truncated) {

  /** {@code data}/test.jsonl (split "test", falling back to valid.jsonl), {@code data}/valid.jsonl, or a file. */
  public static Path splitFile(Path data, String split) {
    if (Files.isRegularFile(data)) {
      return data;
    }
    if (!Files.isDirectory(data)) {
      throw new UserError("--data " + data + " does not exist; pass a directory with test.jsonl or valid.jsonl, "
          + "or a JSONL file");
    }
    List<String> names = split.equals("test") ? List.of("test.jsonl", "valid.jsonl", "val.jsonl")
        : List.of("valid.jsonl", "val.jsonl");
    for (String name : names) {
      if (Files.isRegularFile(data.resolve(name))) {
        return data.resolve(name);
      }
    }
    throw new UserError("--data " + data + " has no " + String.join(" or ", names) + " for --split " + split);
  }

  public static EvalDocuments read(Path file, TextTokenizer tokenizer, boolean maskPrompt, int maxSeqLength)
      throws IOException {
    ExampleParser parser = new ExampleParser(ReadExamples.DEFAULT_MAX_ROW_BYTES);
    DocumentRenderer renderer = new DocumentRenderer(tokenizer, maskPrompt);
    List<TokenizedDoc> docs = new ArrayList<>();
    int truncated = 0;
    long line = 0;
    for (String row : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      line++;
      if (row.isBlank()) {
        continue;
      }
      byte[] raw = row.getBytes(StandardCharsets.UTF_8);
      Outcome o = parser.parse(file.toString(), line, raw, raw.length);
      if (o.deadLetter() != null) {
        throw new UserError(file + ":" + line + ": " + o.deadLetter().reason() + ": " + o.deadLetter().detail());
      }
      TokenizedDoc doc = renderer.render(o.example());
      if (doc.length() > maxSeqLength) {
        truncated++;
        doc = new TokenizedDoc(java.util.Arrays.copyOf(doc.tokens(), maxSeqLength),
            java.util.Arrays.copyOf(doc.weights(), maxSeqLength), doc.sourceFile(), doc.line());
      }
      if (doc.length() >= 2) {
        docs.add(doc);
      }
    }
    if (docs.isEmpty()) {
      throw new UserError(file + " has no documents with at least 2 tokens to evaluate");
    }
    return new EvalDocuments(file, docs, truncated);
  }

  public long targets() {
    long n = 0;
    for (TokenizedDoc d : docs) {
      n += d.trainedTargets();
    }
    return n;
  }
}

package dev.lorabeam.pipeline.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorabeam.engine.Batch;
import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.engine.bench.PythonVenv;
import dev.lorabeam.pipeline.evaluate.EvalDocuments;
import dev.lorabeam.pipeline.evaluate.HeldOutLoss;
import dev.lorabeam.pipeline.train.TinyLlama;
import dev.lorabeam.transforms.model.ModelLocator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code evaluate} against {@code mlx_lm.lora --test} on the same tiny model (real byte-level BPE
 * tokenizer, ChatML template), the same trained adapters and the same test.jsonl: base and adapted
 * losses agree within 1e-4 (mlx-lm with --batch-size 1 so it drops no remainder batch; ours with
 * batch size 3 padding documents of different lengths together), and both tokenize every document
 * identically. mlx-lm 0.32's mask also scores the padding id after each document; evaluate does
 * the same by default and can leave it out. Under CI=true a venv without
 * mlx-lm fails; elsewhere it skips.
 */
public class EvaluateCommandTest {
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();
  private static final double TOLERANCE = 1e-4;
  private static PythonVenv venv;

  @BeforeClass
  public static void findVenv() {
    venv = PeerVenv.require("compare evaluate with mlx_lm.lora --test");
  }

  @Test
  public void baseAndAdaptedLossesEqualMlxLmLoraTest() throws IOException {
    Path model = TinyLlama.write(TMP.newFolder("model").toPath(), 21);
    Path data = TMP.newFolder("data").toPath();
    writeChats(data.resolve("test.jsonl"), 7, new Random(22));
    Path adapters = TMP.newFolder("adapters").toPath();
    trainAdapters(model, adapters);

    EvalDocuments docs = EvalDocuments.read(data.resolve("test.jsonl"),
        ModelLocator.fromEnvironment().resolve(model.toString()).tokenizer(), false, 2048);
    HeldOutLoss base;
    HeldOutLoss adapted;
    HeldOutLoss ownTargets;
    try (Engine engine = Engine.open(config(model))) {
      base = HeldOutLoss.of(engine, docs.docs(), 3, true, 2048);
      engine.loadAdapters(adapters);
      adapted = HeldOutLoss.of(engine, docs.docs(), 3, true, 2048);
      ownTargets = HeldOutLoss.of(engine, docs.docs(), 2, false, 2048);
    }
    assertEquals("mlx-lm's mask adds one padding target per document", docs.targets() + 7, adapted.targets());
    assertEquals(docs.targets(), ownTargets.targets());
    JsonNode refBaseRun = mlxLm(model, data, null);
    assertSameDocuments(docs, refBaseRun.get("documents"));
    double refBase = refBaseRun.get("loss").asDouble();
    double refAdapted = mlxLm(model, data, adapters).get("loss").asDouble();
    System.out.printf("evaluate: base %.7f (mlx_lm.lora --test %.7f), adapted %.7f (%.7f), %d targets%n",
        base.loss(), refBase, adapted.loss(), refAdapted, adapted.targets());
    assertTrue("the adapters must change the loss", Math.abs(adapted.loss() - base.loss()) > 1e-3);
    assertEquals("base loss vs mlx_lm.lora --test", refBase, base.loss(), TOLERANCE);
    assertEquals("adapted loss vs mlx_lm.lora --test", refAdapted, adapted.loss(), TOLERANCE);

    StringWriter out = new StringWriter();
    picocli.CommandLine cli = LorabeamCli.newCommandLine();
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("evaluate", "--model", model.toString(), "--adapter-path", adapters.toString(),
        "--data", data.toString()));
    String text = out.toString();
    assertTrue(text, text.contains(String.format(java.util.Locale.ROOT, "base:    loss %.4f, perplexity %.4f",
        base.loss(), Math.exp(base.loss()))));
    assertTrue(text, text.contains(String.format(java.util.Locale.ROOT, "adapted: loss %.4f", adapted.loss())));
  }

  @Test
  public void fallsBackToValidAndNamesTheBadLine() throws IOException {
    Path data = TMP.newFolder("valid-only").toPath();
    Files.writeString(data.resolve("valid.jsonl"), "{\"text\": \"fine\"}\n{\"txet\": 1}\n");
    assertEquals(data.resolve("valid.jsonl"), EvalDocuments.splitFile(data, "test"));
    Path model = TinyLlama.write(TMP.newFolder("model2").toPath(), 23);
    StringWriter err = new StringWriter();
    picocli.CommandLine cli = LorabeamCli.newCommandLine();
    cli.setErr(new PrintWriter(err));
    assertEquals(2, cli.execute("evaluate", "--model", model.toString(), "--data", data.toString()));
    assertTrue(err.toString(), err.toString().contains("valid.jsonl:2"));
  }

  private static EngineConfig config(Path model) {
    return EngineConfig.defaults(model).withLora(4, 20.0, 0.0, -1, null).withSeed(3);
  }

  /** A few AdamW steps on random documents, so B is no longer 0. */
  private static void trainAdapters(Path model, Path adapters) {
    Random random = new Random(24);
    int[] tokens = new int[2 * 17];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = random.nextInt(TinyLlama.VOCAB);
    }
    try (Engine engine = Engine.open(config(model))) {
      for (int s = 0; s < 3; s++) {
        engine.step(Batch.ofRows(2, 16, tokens), 1e-2);
      }
      engine.saveAdapters(adapters);
    }
  }

  private static void writeChats(Path file, int n, Random random) throws IOException {
    List<String> rows = new ArrayList<>();
    String[] words = {"alpha", "beta", "gamma", "delta", "more words here", "x", "fine tuning"};
    for (int i = 0; i < n; i++) {
      StringBuilder answer = new StringBuilder();
      for (int w = 0; w <= random.nextInt(6); w++) {
        answer.append(words[random.nextInt(words.length)]).append(' ');
      }
      rows.add("{\"messages\": [{\"role\": \"user\", \"content\": \"question " + i + "\"}, {\"role\": \"assistant\","
          + " \"content\": \"" + answer.toString().strip() + "\"}]}");
    }
    Files.write(file, rows);
  }

  /** mlx-lm sorts nothing for --test with batch size 1: its documents come in file order, like ours. */
  private static void assertSameDocuments(EvalDocuments ours, JsonNode theirs) {
    assertEquals("documents", ours.docs().size(), theirs.size());
    for (int d = 0; d < theirs.size(); d++) {
      int[] mine = ours.docs().get(d).tokens();
      JsonNode ref = theirs.get(d).get("tokens");
      StringBuilder a = new StringBuilder();
      for (JsonNode t : ref) {
        a.append(a.length() == 0 ? "" : ", ").append(t.asInt());
      }
      assertEquals("tokens of document " + d, "[" + a + "]", java.util.Arrays.toString(mine));
    }
  }

  private static JsonNode mlxLm(Path model, Path data, Path adapters) {
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--data", data.toString(),
        "--batch-size", "1"));
    if (adapters != null) {
      args.addAll(List.of("--adapter-path", adapters.toString()));
    }
    return venv.runScript(Duration.ofMinutes(3), "mlx_lm_test_loss.py", args, false);
  }
}

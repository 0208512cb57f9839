package dev.lorabeam.pipeline.cli;

import dev.lorabeam.transforms.UserError;

import dev.lorabeam.engine.Engine;
import dev.lorabeam.engine.EngineConfig;
import dev.lorabeam.transforms.read.Example.Message;
import dev.lorabeam.transforms.model.ModelLocator.ResolvedModel;
import dev.lorabeam.transforms.tokenizer.ChatTemplate;
import dev.lorabeam.transforms.tokenizer.TextTokenizer;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code generate}: continue a prompt with a model and, optionally, trained adapters. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = "Generate text from a prompt, with the model's chat template and optional LoRA adapters.")
public final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ModelFlags model;

  @Mixin ModelFlags.Adapters adapters;

  @Option(names = {"--prompt", "-p"}, required = true, description = "The user message (or raw text with --no-chat-template).")
  String prompt;

  @Option(names = "--system", description = "Optional system message.")
  String system;

  @Option(names = "--max-tokens", defaultValue = "100", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temp", defaultValue = "0", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling threshold (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--no-chat-template", description = "Feed the prompt as raw text instead of a user turn.")
  boolean raw;

  @Mixin ModelFlags.QuantizeOnLoad quantize;

  @Override
  public Integer call() {
    if (maxTokens < 1) {
      throw new UserError("--max-tokens must be ≥ 1 (got " + maxTokens + ")");
    }
    if (temperature < 0 || topP <= 0 || topP > 1) {
      throw new UserError("--temp must be ≥ 0 and --top-p in (0, 1] (got " + temperature + ", " + topP + ")");
    }
    quantize.check();
    adapters.check();
    ResolvedModel resolved = model.resolve();
    TextTokenizer tokenizer = resolved.tokenizer();
    String reply = generate(resolved, tokenizer);
    PrintWriter out = spec.commandLine().getOut();
    out.println(reply);
    out.flush();
    return 0;
  }

  private String generate(ResolvedModel resolved, TextTokenizer tokenizer) {
    EngineConfig config = adapters.applyTo(EngineConfig.defaults(resolved.path()).withQuantizeBits(quantize.bits()));
    int[] ids = encodePrompt(tokenizer);
    try (Engine engine = Engine.open(config)) {
      adapters.loadInto(engine);
      int[] out = engine.generate(ids, maxTokens, temperature, topP, seed, new int[] {tokenizer.eosId()});
      return tokenizer.decode(withoutStop(out, tokenizer.eosId()));
    }
  }

  /**
   * The reply without the end-of-turn token the engine stops after ({@code <|im_end|>}): like
   * mlx_lm.generate, the text shown is what the model said, not its stop token.
   */
  static int[] withoutStop(int[] generated, int stopId) {
    int n = generated.length;
    return n > 0 && generated[n - 1] == stopId ? Arrays.copyOf(generated, n - 1) : generated;
  }

  int[] encodePrompt(TextTokenizer tokenizer) {
    return encodeChat(tokenizer, system, prompt, raw);
  }

  /** The user turn through the model's chat template with the generation prompt appended. */
  public static int[] encodeChat(TextTokenizer tokenizer, String system, String prompt, boolean raw) {
    String template = tokenizer.chatTemplate();
    if (raw || template == null) {
      return tokenizer.encode(prompt, true);
    }
    List<Message> messages = system == null
        ? List.of(new Message("user", prompt))
        : List.of(new Message("system", system), new Message("user", prompt));
    String text = new ChatTemplate(template, tokenizer.bosToken(), tokenizer.eosToken()).render(messages, null, true);
    return tokenizer.encode(text, false);
  }
}

package dev.lorabeam.pipeline.cli;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * How the keys of mlx-lm 0.32's {@code mlx_lm.lora -c config.yaml} read here. A key is taken under
 * our flag's name only where the meaning is the same; keys with another meaning are refused with
 * what to write instead, never guessed. Keys whose name is already our flag's ({@code model},
 * {@code data}, {@code batch_size}, {@code learning_rate}, {@code seed}, {@code val_batches},
 * {@code steps_per_eval}, {@code save_every}, {@code adapter_path}, {@code grad_checkpoint},
 * {@code mask_prompt}) need no entry.
 */
final class MlxLmKeys {

  /** The one nested mapping read, flattened to {@code lora_parameters.rank} etc. */
  static final String LORA_PARAMETERS = "lora_parameters";

  /** mlx-lm key → our flag (no dashes), where both mean the same thing. */
  private static final Map<String, String> SAME_MEANING = Map.of(
      "num_layers", "lora-layers",  // the last N blocks, -1 = all, in both
      "grad_accumulation_steps", "grad-accumulation",  // micro-batches per optimizer step in both
      "lora_parameters.rank", "lora-rank",
      "lora_parameters.scale", "lora-scale",  // used as is in both, not alpha / rank
      "lora_parameters.dropout", "lora-dropout",
      "lora_parameters.keys", "target-modules");  // mlx-lm keys such as self_attn.q_proj are accepted

  /** Values of mlx-lm keys that say what lorabeam always does, so the key can be dropped. */
  private static final Map<String, String> ALWAYS = Map.of(
      "fine_tune_type", "lora",
      "optimizer", "adamw",
      "train", "true");

  /** mlx-lm keys with no flag of the same meaning here, and what to write instead. */
  private static final Map<String, String> DIFFERENT = Map.ofEntries(
      Map.entry("iters", "mlx-lm's iters counts micro-batches (the optimizer steps every grad_accumulation_steps"
          + " of them); write max_steps: N for N optimizer steps (N = iters / grad_accumulation_steps)"),
      Map.entry("max_seq_length", "mlx-lm cuts each row at max_seq_length; lorabeam packs rows into blocks and"
          + " splits longer ones: write train_seq_length: T (tokens per block)"),
      Map.entry("fine_tune_type", "lorabeam trains LoRA adapters only (fine_tune_type: lora, or leave it out)"),
      Map.entry("optimizer", "lorabeam trains with AdamW (mlx-lm's adam is AdamW with weight_decay: 0);"
          + " write optimizer: adamw or leave it out"),
      Map.entry("optimizer_config", "write weight_decay: D (AdamW's betas and eps are mlx-lm's defaults)"),
      Map.entry("lr_schedule", "lorabeam's lr_schedule is a name (constant, cosine or linear) with"
          + " warmup_steps: N, not mlx-lm's {name, arguments, warmup} mapping"),
      Map.entry("train", "train: false does not train: use lorabeam evaluate for test loss"),
      Map.entry("test", "use lorabeam evaluate --data DIR for test loss and perplexity"),
      Map.entry("test_batches", "use lorabeam evaluate, which scores every test document"),
      Map.entry("steps_per_report", "progress is reported every 50 steps or 10 s (a bar on a terminal)"),
      Map.entry("resume_adapter_file", "write resume: true to continue from the latest checkpoint in"
          + " adapter_path (adapters, optimizer state and data position)"),
      Map.entry("report_to", "metrics go to <adapter_path>/metrics.jsonl (metrics_file: FILE to move them)"),
      Map.entry("project_name", "metrics go to <adapter_path>/metrics.jsonl"),
      Map.entry("clear_cache_threshold", "the engine frees its cache every step; use reload_interval: N to"
          + " reopen it from the latest checkpoint"),
      Map.entry("trust_remote_code", "models are read from local files only; no code is run"),
      Map.entry("config", "config files do not include other config files"));

  private MlxLmKeys() {}

  static boolean isSection(String key) {
    return key.equals(LORA_PARAMETERS);
  }

  /** The flag (no leading dashes) {@code key} sets: an mlx-lm alias, or the key with {@code _} as {@code -}. */
  static String flagFor(String key) {
    String alias = SAME_MEANING.get(key);
    return alias != null ? alias : key.replace('_', '-');
  }

  /** Whether {@code key: value} states what lorabeam always does (e.g. {@code optimizer: adamw}). */
  static boolean isNoOp(String key, String value) {
    return value != null && value.strip().toLowerCase(Locale.ROOT).equals(ALWAYS.get(key.replace('-', '_')));
  }

  /** Why an mlx-lm key is not read, and what to write instead; empty for other keys. */
  static Optional<String> different(String key) {
    return Optional.ofNullable(DIFFERENT.get(key.replace('-', '_')));
  }
}

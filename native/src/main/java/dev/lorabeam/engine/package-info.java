/**
 * The native training engine as Java sees it: {@link dev.lorabeam.engine.Engine} (open a model,
 * train LoRA adapters one step per call, evaluate, save and load adapters and optimizer state,
 * generate), its configuration and result records, and {@link dev.lorabeam.engine.Mlx} for
 * process-wide MLX memory controls. Failures inside MLX arrive as {@link
 * dev.lorabeam.engine.MlxException}. Batches come from the data module already packed; this
 * package never tokenizes. May be imported by {@code pipeline}; imports nothing of this project.
 */
package dev.lorabeam.engine;

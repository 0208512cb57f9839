/**
 * Stage 2: {@link dev.lorabeam.transforms.read.Example} → {@link
 * dev.lorabeam.transforms.render.TokenizedDoc} (token ids + per-token loss weights), through the
 * model's chat template and tokenizer ({@code transforms.tokenizer}); template errors become dead
 * letters. Imports {@code read} and {@code tokenizer} only.
 */
package dev.lorabeam.transforms.render;

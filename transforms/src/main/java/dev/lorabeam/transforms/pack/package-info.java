/**
 * Stage 3: tokenized documents → {@link dev.lorabeam.transforms.pack.PackedBlock}s of exactly
 * T+1 tokens with per-document segments and loss weights, their coders, and the batches the
 * trainer consumes. Packing depends only on the documents' content and (file name, line), never
 * on the order a runner delivers them in. Imports {@code render}.
 */
package dev.lorabeam.transforms.pack;

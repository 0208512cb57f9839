/**
 * Stage 1 of the data flow: JSONL lines → {@link dev.lorabeam.transforms.read.Example} or
 * {@link dev.lorabeam.transforms.read.DeadLetter} (file, line, reason). {@code --data} resolution
 * ({@link dev.lorabeam.transforms.read.DataSource}), the per-row parser, the dead-letter sink and
 * the bad-row report after a run. Imports nothing of the later stages.
 */
package dev.lorabeam.transforms.read;

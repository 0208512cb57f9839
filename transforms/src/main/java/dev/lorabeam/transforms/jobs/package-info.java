/**
 * Jobs built from the library stages: {@code preprocess} (JSONL → shards). The CLI in {@code
 * pipeline} builds their configs from flags; nothing in the library imports this package, and
 * nothing here imports a runner (the runner is chosen by Beam options at run time).
 */
package dev.lorabeam.transforms.jobs;

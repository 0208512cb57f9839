/**
 * Stage 4, the one on-disk format: {@link dev.lorabeam.transforms.pack.PackedBlock}s ⇄
 * safetensors shard files + {@code manifest.json}, written and read through Beam's {@code
 * FileSystems}. Imports {@code pack}.
 */
package dev.lorabeam.transforms.shards;

package dev.lorabeam.transforms.shards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorabeam.transforms.BlockOptions;
import java.io.IOException;
import java.io.Serializable;

/**
 * The part of a manifest that decides block bytes: a plain copy of {@link BlockOptions} with the
 * tokenizer reduced to its fingerprint and description. Two preparations with equal settings (and
 * equal source files) make byte-identical shards.
 */
public record ShardSettings(
    int seqLength,
    String tokenizerFingerprint,
    String tokenizer,
    int padId,
    String packPolicy,
    int packBuckets,
    boolean fillGaps,
    long seed,
    boolean maskPrompt,
    int maxRowBytes,
    String distrust,
    double alpha,
    double meanLemp,
    String templateDate) implements Serializable {

  public static ShardSettings of(BlockOptions o) {
    return new ShardSettings(o.seqLength(), o.tokenizer().fingerprint(), o.tokenizer().describe(),
        o.padId(), o.longDocs().name().toLowerCase(java.util.Locale.ROOT), o.packBuckets(),
        o.fillGaps(), o.seed(), o.maskPrompt(), o.maxRowBytes(), o.distrust(), o.alpha(),
        o.meanLemp(), o.templateDate());
  }

  /** Equal in everything but the description and the template date. */
  public boolean sameBlocksAs(ShardSettings o) {
    return withDateOf(o).withTokenizerName(o.tokenizer).equals(o);
  }

  public ShardSettings withDateOf(ShardSettings o) {
    return new ShardSettings(seqLength, tokenizerFingerprint, tokenizer, padId, packPolicy,
        packBuckets, fillGaps, seed, maskPrompt, maxRowBytes, distrust, alpha, meanLemp,
        o.templateDate);
  }

  private ShardSettings withTokenizerName(String name) {
    return new ShardSettings(seqLength, tokenizerFingerprint, name, padId, packPolicy,
        packBuckets, fillGaps, seed, maskPrompt, maxRowBytes, distrust, alpha, meanLemp,
        templateDate);
  }

  void writeTo(ObjectNode root) {
    root.put("seq_length", seqLength).put("block_tokens", seqLength + 1);
    root.putObject("tokenizer").put("fingerprint", tokenizerFingerprint).put("source", tokenizer);
    root.put("pad_id", padId);
    root.putObject("packing").put("policy", packPolicy).put("buckets", packBuckets)
        .put("fill_gaps", fillGaps).put("seed", seed);
    root.put("mask_prompt", maskPrompt).put("max_row_bytes", maxRowBytes);
    root.putObject("distrust").put("mode", distrust).put("alpha", alpha)
        .put("mean_l_emp", meanLemp);
    root.put("chat_template_date", templateDate);
  }

  static ShardSettings readFrom(JsonNode root, String file) throws IOException {
    for (String field : new String[] {"seq_length", "tokenizer", "pad_id", "packing",
        "mask_prompt", "distrust", "chat_template_date"}) {
      if (root.path(field).isMissingNode()) {
        throw new IOException(file + " has no '" + field + "'; it is damaged or was not written "
            + "by lorabeam. Re-run lorabeam preprocess into an empty --output directory.");
      }
    }
    JsonNode pack = root.path("packing");
    JsonNode distrust = root.path("distrust");
    return new ShardSettings(root.path("seq_length").asInt(),
        root.path("tokenizer").path("fingerprint").asText(),
        root.path("tokenizer").path("source").asText(), root.path("pad_id").asInt(),
        pack.path("policy").asText(), pack.path("buckets").asInt(),
        pack.path("fill_gaps").asBoolean(), pack.path("seed").asLong(),
        root.path("mask_prompt").asBoolean(), root.path("max_row_bytes").asInt(),
        distrust.path("mode").asText(), distrust.path("alpha").asDouble(),
        distrust.path("mean_l_emp").asDouble(), root.path("chat_template_date").asText());
  }
}

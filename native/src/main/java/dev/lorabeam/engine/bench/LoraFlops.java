package dev.lorabeam.engine.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Model FLOPs of one LoRA training token for a Llama-shaped model, the numerator of MFU.
 *
 * <p>Frozen weights get no weight gradient, and blocks below the lowest LoRA block need no backward
 * pass at all, so the familiar 6·N is wrong for LoRA. Per trained token:
 *
 * <pre>
 *   forward   2·(L·Nb + Nh)                 every block linear and the LM head
 *           + 4·T·H·hd·L                    attention scores and values, full T×T as computed
 *   backward  2·(Lr·Nb + Nh)                input gradients through the LoRA blocks and the head
 *           + 8·T·H·hd·Lr                   attention backward in the LoRA blocks
 *   LoRA      6·r·Σ(in+out)·Lr              forward, input and weight gradients of A and B
 * </pre>
 *
 * Nb = linear weights of one block, Nh = d·V, L = blocks, Lr = LoRA blocks, H = heads, hd = head
 * dimension, r = rank. Norms, RoPE, softmax and the cross-entropy are left out (under 1%).
 */
public record LoraFlops(int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, int vocab) {

  public static final String FORMULA = "per token: 2(L*Nb+Nh) + 4*T*H*hd*L [forward] + 2(Lr*Nb+Nh) + 8*T*H*hd*Lr"
      + " [backward, input gradients only] + 6*r*sum(in+out)*Lr [LoRA A,B]";

  /** Reads the shape from a Hugging Face config.json. */
  public static LoraFlops of(Path modelDir) throws IOException {
    JsonNode c = new ObjectMapper().readTree(modelDir.resolve("config.json").toFile());
    int hidden = c.get("hidden_size").asInt();
    int heads = c.get("num_attention_heads").asInt();
    int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
    return new LoraFlops(hidden, c.get("intermediate_size").asInt(), c.get("num_hidden_layers").asInt(), heads,
        c.path("num_key_value_heads").asInt(heads), headDim, c.get("vocab_size").asInt());
  }

  /** Weights of the seven linears of one block. */
  public long blockLinearParams() {
    long q = (long) hidden * heads * headDim;
    long kv = (long) hidden * kvHeads * headDim;
    return 2 * q + 2 * kv + 3L * hidden * intermediate;
  }

  public long headParams() {
    return (long) hidden * vocab;
  }

  /** Σ(in + out) over the seven linears of one block, the LoRA size per unit of rank. */
  public long loraInOutSum() {
    long q = heads * (long) headDim;
    long kv = kvHeads * (long) headDim;
    return (hidden + q) * 2 + (hidden + kv) * 2 + 3L * (hidden + intermediate);
  }

  public long trainableParams(int rank, int loraLayers) {
    return rank * loraInOutSum() * loraLayers;
  }

  /** FLOPs of one trained token at sequence length seqLen with LoRA rank on the last loraLayers blocks. */
  public double perToken(int seqLen, int rank, int loraLayers) {
    double attention = (double) seqLen * heads * headDim;
    double forward = 2.0 * (layers * blockLinearParams() + headParams()) + 4.0 * attention * layers;
    double backward = 2.0 * (loraLayers * blockLinearParams() + headParams()) + 8.0 * attention * loraLayers;
    double lora = 6.0 * rank * loraInOutSum() * loraLayers;
    return forward + backward + lora;
  }
}

package dev.lorabeam.pipeline.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Linear layers of a Llama-family block that may carry LoRA adapters, named by their mlx-lm
 * keys ({@code self_attn.q_proj} …). Users may write the short names {@code q, k, v, o, gate, up,
 * down}, the projection names ({@code q_proj}) or the full keys.
 */
public final class TargetModules {

  /** Short name → mlx-lm key, in mlx-lm's order. */
  static final Map<String, String> KEYS = new LinkedHashMap<>();

  static {
    KEYS.put("q", "self_attn.q_proj");
    KEYS.put("k", "self_attn.k_proj");
    KEYS.put("v", "self_attn.v_proj");
    KEYS.put("o", "self_attn.o_proj");
    KEYS.put("gate", "mlp.gate_proj");
    KEYS.put("up", "mlp.up_proj");
    KEYS.put("down", "mlp.down_proj");
  }

  /** mlx-lm's default: every Linear in a block. */
  public static final List<String> ALL = List.copyOf(KEYS.values());

  private TargetModules() {}

  /**
   * Full mlx-lm keys for {@code names}, without duplicates, in the order given.
   *
   * @throws IllegalArgumentException naming {@code --target-modules} and the accepted names
   */
  public static List<String> normalise(List<String> names) {
    if (names == null || names.isEmpty()) {
      throw new IllegalArgumentException(
          "--target-modules needs at least one of " + String.join(",", KEYS.keySet()));
    }
    List<String> keys = new ArrayList<>();
    for (String name : names) {
      String key = keyOf(name);
      if (!keys.contains(key)) {
        keys.add(key);
      }
    }
    return List.copyOf(keys);
  }

  private static String keyOf(String name) {
    String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
    if (KEYS.containsKey(n)) {
      return KEYS.get(n);
    }
    for (Map.Entry<String, String> e : KEYS.entrySet()) {
      String key = e.getValue();
      if (n.equals(key) || n.equals(key.substring(key.indexOf('.') + 1))) {
        return key;
      }
    }
    throw new IllegalArgumentException(
        "--target-modules accepts " + String.join(",", KEYS.keySet())
            + " (or mlx-lm keys such as self_attn.q_proj) (got '" + name + "')");
  }
}

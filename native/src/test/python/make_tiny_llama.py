"""Write a random Llama model as a Hugging Face directory (config.json + model.safetensors, float32).

Both sides of the parity test and of the benchmark read the same directory, so the weights only
have to be deterministic for a seed, not meaningful.

    python make_tiny_llama.py OUT_DIR [--shape tiny|tiny-llama3|smollm2-135m] [--seed 0] [--layers N]

Prints one JSON object: {"dir", "shape", "params", "config"}.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

# Field names are Hugging Face's config.json keys.
SHAPES = {
    "tiny": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=256,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        max_position_embeddings=256,
        tie_word_embeddings=False,
    ),
    "smollm2-135m": dict(
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        vocab_size=49152,
        rms_norm_eps=1e-5,
        rope_theta=100000.0,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
    ),
}
# The tiny blocks under SmolLM2's vocabulary and tied head: a model whose cost is mostly the LM head, and
# which the demo tokenizer can drive (EndToEndBenchmark --shape tiny-49k on a machine without a fast BLAS).
SHAPES["tiny-49k"] = dict(SHAPES["tiny"], vocab_size=49152, tie_word_embeddings=True, max_position_embeddings=2048)
SHAPES["tiny-llama3"] = dict(
    SHAPES["tiny"],
    tie_word_embeddings=True,
    rope_theta=500000.0,
    # Llama 3.1's scaling; original_max_position_embeddings small enough that the tiny
    # head_dim's low and high frequency bands are both exercised.
    rope_scaling=dict(
        rope_type="llama3",
        factor=8.0,
        low_freq_factor=1.0,
        high_freq_factor=4.0,
        original_max_position_embeddings=64,
    ),
)


def make_config(shape: str, layers: int | None) -> dict:
    cfg = dict(SHAPES[shape])
    if layers is not None:
        cfg["num_hidden_layers"] = layers
    cfg.update(
        architectures=["LlamaForCausalLM"],
        model_type="llama",
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
        head_dim=cfg["hidden_size"] // cfg["num_attention_heads"],
        bos_token_id=1,
        eos_token_id=2,
        torch_dtype="float32",
    )
    return cfg


def make_weights(cfg: dict, seed: int, std: float) -> dict:
    rng = np.random.default_rng(seed)
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = cfg["head_dim"]
    q_out, kv_out = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd

    def normal(*shape):  # HF Linear weights are (out, in)
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    def norm():  # near 1 so a wrong norm weight shows up as a loss difference
        return (1.0 + 0.1 * rng.standard_normal(d, dtype=np.float32)).astype(np.float32)

    w = {"model.embed_tokens.weight": normal(v, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = normal(q_out, d)
        w[p + "self_attn.k_proj.weight"] = normal(kv_out, d)
        w[p + "self_attn.v_proj.weight"] = normal(kv_out, d)
        w[p + "self_attn.o_proj.weight"] = normal(d, q_out)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = normal(f, d)
        w[p + "mlp.up_proj.weight"] = normal(f, d)
        w[p + "mlp.down_proj.weight"] = normal(d, f)
    w["model.norm.weight"] = norm()
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = normal(v, d)
    return w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers")
    ap.add_argument("--std", type=float, default=None,
                    help="weight std (default 0.1 for tiny shapes, 0.02 otherwise)")
    args = ap.parse_args(argv)

    cfg = make_config(args.shape, args.layers)
    std = args.std if args.std is not None else (0.1 if args.shape.startswith("tiny") else 0.02)
    weights = make_weights(cfg, args.seed, std)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.out_dir / "model.safetensors"), metadata={"format": "pt"})
    (args.out_dir / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    params = int(sum(a.size for a in weights.values()))
    print(json.dumps({"dir": str(args.out_dir), "shape": args.shape, "params": params, "config": cfg}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

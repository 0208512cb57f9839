"""Writes a float32 Hugging Face Llama directory from a llama-architecture GGUF file.

    python gguf_to_hf.py MODEL.gguf OUT_DIR --tokenizer-json tokenizer.json

mx.load reads the weights (quantized tensors come back as weight/scales/biases, group 32) and
they are dequantized to float32. llama.cpp's converter permutes the rows of Q and K for its
interleaved RoPE; they are permuted back so the directory runs with Hugging Face's (and mlx-lm's)
non-interleaved RoPE. OUT_DIR gets model.safetensors, config.json, tokenizer.json (given, e.g. the one
lorabeam's GgufTokenizer generates from the same file) and tokenizer_config.json (chat template,
bos/eos). Each file is written to a temp name and renamed. Prints one JSON line describing the result.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

import mlx.core as mx

BLOCK = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
         "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
         "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}


def hf_name(stem):
    if stem == "token_embd":
        return "model.embed_tokens"
    if stem == "output_norm":
        return "model.norm"
    if stem == "output":
        return "lm_head"
    _, layer, part = stem.split(".", 2)
    return f"model.layers.{layer}.{BLOCK[part]}"


def unpermute(w, heads):
    """Inverse of llama.cpp's permute: (heads·hd, in) rows back to Hugging Face order."""
    out = w.shape[0]
    return w.reshape(heads, out // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def meta_number(meta, key, default=None):
    if key not in meta:
        if default is None:
            raise SystemExit(f"missing GGUF metadata {key}")
        return default
    return meta[key].item()


def dense_weights(raw, heads, kv_heads):
    out = {}
    for name, w in raw.items():
        stem, suffix = name.rsplit(".", 1)
        if suffix in ("scales", "biases") or stem == "rope_freqs":
            continue
        if stem + ".scales" in raw:
            scales, biases = raw[stem + ".scales"], raw[stem + ".biases"]
            in_dim = scales.shape[-1] * 32
            w = mx.dequantize(w, scales, biases, group_size=32, bits=w.shape[-1] * 32 // in_dim)
        w = w.astype(mx.float32)
        if stem.endswith(".attn_q"):
            w = unpermute(w, heads)
        elif stem.endswith(".attn_k"):
            w = unpermute(w, kv_heads)
        out[hf_name(stem) + "." + suffix] = w
    return out


def write_json(path, obj):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--tokenizer-json", required=True)
    a = ap.parse_args()
    raw, meta = mx.load(a.gguf, return_metadata=True)
    if str(meta.get("general.architecture")) != "llama":
        raise SystemExit(f"{a.gguf}: only llama-architecture GGUF files are supported")
    p = "llama."
    heads = int(meta_number(meta, p + "attention.head_count"))
    kv_heads = int(meta_number(meta, p + "attention.head_count_kv", heads))
    weights = dense_weights(raw, heads, kv_heads)
    hidden = int(meta_number(meta, p + "embedding_length"))
    vocab = weights["model.embed_tokens.weight"].shape[0]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "num_hidden_layers": int(meta_number(meta, p + "block_count")),
        "intermediate_size": int(meta_number(meta, p + "feed_forward_length")),
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": hidden // heads,
        "rms_norm_eps": meta_number(meta, p + "attention.layer_norm_rms_epsilon", 1e-5),
        "rope_theta": meta_number(meta, p + "rope.freq_base", 10000.0),
        "max_position_embeddings": int(meta_number(meta, p + "context_length", 8192)),
        "vocab_size": vocab, "tie_word_embeddings": "lm_head.weight" not in weights,
        "torch_dtype": "float32",
    }
    tokens = meta["tokenizer.ggml.tokens"]
    special = {}
    for role in ("bos", "eos", "padding"):
        key = f"tokenizer.ggml.{role}_token_id"
        if key in meta:
            special[role] = tokens[int(meta[key].item())]
    tok_config = {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": False,
                  "bos_token": special.get("bos"), "eos_token": special.get("eos"),
                  "pad_token": special.get("padding", special.get("eos"))}
    if "tokenizer.chat_template" in meta:
        tok_config["chat_template"] = str(meta["tokenizer.chat_template"])
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(out / ".model.tmp.safetensors"), weights, metadata={"format": "mlx"})
    os.replace(out / ".model.tmp.safetensors", out / "model.safetensors")
    shutil.copyfile(a.tokenizer_json, out / ".tokenizer.json.tmp")
    os.replace(out / ".tokenizer.json.tmp", out / "tokenizer.json")
    write_json(out / "tokenizer_config.json", tok_config)
    write_json(out / "config.json", config)  # last: its presence marks a complete directory
    print(json.dumps({"dir": str(out), "tensors": len(weights), "vocab": vocab, "tied": config["tie_word_embeddings"]}))


if __name__ == "__main__":
    main()

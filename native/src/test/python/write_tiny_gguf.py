"""A tiny random Llama GGUF (F32), optionally broken, written with llama.cpp's own `gguf` writer.

    python write_tiny_gguf.py OUT [--head-count N] [--wrong-shape TENSOR]

hidden 64, 1 block, 4 heads (2 KV), FFN 128, vocabulary 128. --head-count sets llama.attention.head_count
(0 is what a broken converter writes); --wrong-shape gives that GGUF tensor one row too many. Prints
{"file": OUT}.
"""

import argparse
import json

import numpy as np
from gguf import GGUFWriter

D, F, V, H, KV = 64, 128, 128, 4, 2


def tensors():
    hd = D // H
    shapes = {
        "token_embd.weight": (V, D), "output_norm.weight": (D,),
        "blk.0.attn_norm.weight": (D,), "blk.0.ffn_norm.weight": (D,),
        "blk.0.attn_q.weight": (D, D), "blk.0.attn_k.weight": (KV * hd, D), "blk.0.attn_v.weight": (KV * hd, D),
        "blk.0.attn_output.weight": (D, D), "blk.0.ffn_gate.weight": (F, D), "blk.0.ffn_up.weight": (F, D),
        "blk.0.ffn_down.weight": (D, F),
    }
    return shapes


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--head-count", type=int, default=H)
    p.add_argument("--wrong-shape", default=None)
    a = p.parse_args()
    w = GGUFWriter(a.out, "llama")
    w.add_embedding_length(D)
    w.add_block_count(1)
    w.add_head_count(a.head_count)
    w.add_head_count_kv(KV)
    w.add_feed_forward_length(F)
    w.add_layer_norm_rms_eps(1e-5)
    rng = np.random.default_rng(0)
    for name, shape in tensors().items():
        if name == a.wrong_shape:
            shape = (shape[0] + 1,) + shape[1:]
        w.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(json.dumps({"file": a.out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

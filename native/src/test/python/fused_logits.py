"""mlx-lm's view of a fused model: loads FUSED (and BASE + ADAPTERS) with mlx-lm and runs TOKENS.

    python fused_logits.py --fused DIR --tokens '[[1, 2, 3], ...]' [--base DIR --adapters DIR]

Prints one JSON object: "ce" (per row, the cross-entropy of token i+1 given tokens ..i, from the fused
model's logits), and with --base: "max_abs_logit_diff" between the fused model and base + adapters,
both computed by mlx-lm in float32.
"""

import argparse
import json
import sys
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.tuner.utils import load_adapters
from mlx_lm.utils import load_model


def logits(model, tokens):
    out = model(mx.array(tokens))
    return out.astype(mx.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fused", type=Path, required=True)
    ap.add_argument("--tokens", required=True, help="JSON list of equal-length token rows")
    ap.add_argument("--base", type=Path)
    ap.add_argument("--adapters", type=Path)
    args = ap.parse_args(argv)
    tokens = json.loads(args.tokens)

    fused, _ = load_model(args.fused)
    fused_logits = logits(fused, tokens)
    inputs, targets = mx.array(tokens)[:, :-1], mx.array(tokens)[:, 1:]
    ce = nn.losses.cross_entropy(fused_logits[:, :-1], targets, reduction="none")
    result = {"ce": ce.tolist(), "shape": list(fused_logits.shape)}
    if args.base is not None:
        base, _ = load_model(args.base)
        if args.adapters is not None:
            base = load_adapters(base, str(args.adapters))
        diff = mx.max(mx.abs(fused_logits - logits(base, tokens)))
        result["max_abs_logit_diff"] = diff.item()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""mlx-lm as the reference for lorabeam's engine: loss and AdamW steps on LoRA adapters.

The model comes from mlx_lm.utils.load_model (no tokenizer needed), LoRA from
mlx_lm.tuner.utils.linear_to_lora_layers / load_adapters, the loss from
mlx_lm.tuner.trainer.default_loss and the step is built like mlx_lm.tuner.trainer.train's:
nn.value_and_grad over the trainable parameters, mx.compile with model and optimizer state as
inputs and outputs, one mx.eval per step.

    python mlx_lm_reference.py --model DIR --batches batches.json --adapters INIT_DIR
        [--write-init --init-seed 0 --b-std 0.02] [--steps 10 --lr 1e-3 ...] [--out-adapters DIR]

batches.json: {"batches": [{"tokens": [[...]] (B, T+1) int, "weights": [[...]] (B, T) float}, ...]};
step k trains on batches[k % len]. Weights that are 0/1 over one contiguous range of targets per row
are mlx-lm's (offset, length) mask, and then mlx-lm's own default_loss is used; any other weights use
the same cross-entropy as sum(w * CE) / N, N = number of targets with w > 0 (lorabeam's step loss;
identical to default_loss for 0/1 weights).

Prints one JSON object: initial/final loss on batches[0], per-step losses and gradient norms.
"""

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten

import mlx_lm
from mlx_lm.tuner.trainer import default_loss
from mlx_lm.tuner.utils import linear_to_lora_layers, load_adapters
from mlx_lm.utils import load_model

ALL_KEYS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
FULL_KEY = {k: ("self_attn." if k.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else "mlp.") + k
            for k in ALL_KEYS}


def full_keys(keys):
    """q_proj -> self_attn.q_proj; mlx-lm names modules by their path inside a block."""
    return [FULL_KEY.get(k, k) for k in keys]


def adapter_config(num_layers, rank, scale, dropout, keys):
    return {
        "fine_tune_type": "lora",
        "num_layers": num_layers,
        "lora_parameters": {"rank": rank, "scale": scale, "dropout": dropout, "keys": keys},
    }


def save_adapters(model, out_dir: Path, config: dict):
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = dict(tree_flatten(model.trainable_parameters()))
    mx.save_safetensors(str(out_dir / "adapters.safetensors"), weights)
    (out_dir / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")


def write_init_adapters(args, out_dir: Path):
    """mlx-lm's own initialisation (A ~ U(±1/sqrt(in))) plus a nonzero B so B's gradient path is tested."""
    model, _ = load_model(Path(args.model))
    model.freeze()
    num_layers = len(model.layers) if args.num_layers < 0 else args.num_layers
    config = adapter_config(num_layers, args.rank, args.scale, args.dropout, full_keys(args.keys))
    mx.random.seed(args.init_seed)
    linear_to_lora_layers(model, num_layers, config["lora_parameters"])
    new_b = [(name, mx.random.normal(p.shape) * args.b_std)
             for name, p in tree_flatten(model.trainable_parameters()) if name.endswith("lora_b")]
    model.load_weights(new_b, strict=False)
    save_adapters(model, out_dir, config)


def load_with_adapters(model_dir: str, adapters: Path):
    model, _ = load_model(Path(model_dir))
    model.freeze()
    load_adapters(model, str(adapters))  # applies LoRA from adapter_config.json, checks names/shapes
    return model


def read_batches(path: Path):
    data = json.loads(path.read_text())
    out = []
    for i, b in enumerate(data["batches"]):
        tokens = np.asarray(b["tokens"], dtype=np.int32)  # (B, T+1)
        weights = np.asarray(b["weights"], dtype=np.float32)  # (B, T)
        if weights.shape != (tokens.shape[0], tokens.shape[1] - 1):
            raise ValueError(f"batch {i}: weights {weights.shape} do not match tokens {tokens.shape} "
                             f"(need (B, T) for tokens (B, T+1))")
        out.append((tokens, weights, mlx_lm_lengths(weights)))
    return out


def mlx_lm_lengths(weights: np.ndarray):
    """(B, 2) [offset, length] with mlx-lm's mask == weights, or None when weights are not such a mask.

    default_loss keeps target j (0-based) when offset <= j + 1 <= length.
    """
    lengths = []
    for row in weights:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            lengths.append((1, 0))
            continue
        lo, hi = int(nz[0]), int(nz[-1])
        if not np.all(row[lo:hi + 1] == 1.0):
            return None
        lengths.append((lo + 1, hi + 1))
    return np.asarray(lengths, dtype=np.int32)


def weighted_loss(model, tokens, weights):
    """sum(w * CE) / N over targets tokens[:, 1:], N = #(w > 0), with mlx-lm's logits and cross_entropy."""
    logits = model(tokens[:, :-1])
    ce = nn.losses.cross_entropy(logits, tokens[:, 1:]) * weights
    ntoks = (weights > 0).astype(mx.float32).sum()
    return ce.astype(mx.float32).sum() / ntoks, ntoks


def loss_inputs(batch):
    tokens, weights, lengths = batch
    if lengths is not None:
        return default_loss, (mx.array(tokens), mx.array(lengths))
    return weighted_loss, (mx.array(tokens), mx.array(weights))


def evaluate(model, batch):
    fn, inputs = loss_inputs(batch)
    loss, _ = fn(model, *inputs)
    mx.eval(loss)
    _, weights, _ = batch
    return {"loss": loss.item(), "weight_sum": float(weights.sum()),
            "trained_tokens": int(np.count_nonzero(weights))}


def train(model, batches, args):
    """args.steps AdamW steps, each as mlx_lm.tuner.trainer.train does it (compiled, one eval)."""
    optimizer = optim.AdamW(learning_rate=args.lr, betas=[args.beta1, args.beta2], eps=args.eps,
                            weight_decay=args.weight_decay, bias_correction=args.bias_correction)
    fns = {}
    state = [model.state, optimizer.state, mx.random.state]

    def make_step(fn):
        loss_value_and_grad = nn.value_and_grad(model, fn)

        def step(*inputs):
            (lvalue, _), grad = loss_value_and_grad(model, *inputs)
            norm = mx.sqrt(sum(mx.sum(mx.square(g)) for _, g in tree_flatten(grad)))
            optimizer.update(model, grad)
            return lvalue, norm

        return partial(mx.compile, inputs=state, outputs=state)(step) if args.compile else step

    model.train()
    losses, norms = [], []
    for k in range(args.steps):
        fn, inputs = loss_inputs(batches[k % len(batches)])
        if fn not in fns:
            fns[fn] = make_step(fn)
        lvalue, norm = fns[fn](*inputs)
        mx.eval(state, lvalue, norm)
        losses.append(lvalue.item())
        norms.append(norm.item())
    model.eval()
    return losses, norms


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face model directory")
    ap.add_argument("--batches", required=True, type=Path)
    ap.add_argument("--adapters", required=True, type=Path, help="initial adapters (mlx-lm format dir)")
    ap.add_argument("--write-init", action="store_true", help="first write random initial adapters there")
    ap.add_argument("--init-seed", type=int, default=0)
    ap.add_argument("--b-std", type=float, default=0.02, help="std of the nonzero initial lora_b")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--num-layers", type=int, default=-1, help="last N blocks; -1 = all")
    ap.add_argument("--keys", type=lambda s: s.split(","), default=ALL_KEYS)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--bias-correction", action="store_true")
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--out-adapters", type=Path, help="where to save the adapters after the steps")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.write_init:
        write_init_adapters(args, args.adapters)
    batches = read_batches(args.batches)
    model = load_with_adapters(args.model, args.adapters)
    result = {
        "mlx": mx.__version__,
        "mlx_lm": mlx_lm.__version__,
        "loss_fn": "mlx_lm.tuner.trainer.default_loss" if batches[0][2] is not None else "weighted",
        "trainable_params": sum(p.size for _, p in tree_flatten(model.trainable_parameters())),
        "initial": evaluate(model, batches[0]),
    }
    if args.steps > 0:
        result["step_losses"], result["grad_norms"] = train(model, batches, args)
        result["final"] = evaluate(model, batches[0])
    if args.out_adapters is not None:
        with open(args.adapters / "adapter_config.json") as f:
            config = json.load(f)
        save_adapters(model, args.out_adapters, config)
        result["out_adapters"] = str(args.out_adapters)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The peer side of lorabeam's EngineBenchmark: mlx_lm.lora's own training path on given token rows.

This is `mlx_lm.lora --train` minus its tokenizer and text loading: the same CONFIG_DEFAULTS, then
mlx_lm.lora.train_model (freeze, linear_to_lora_layers, optimizer construction) and
mlx_lm.tuner.trainer.train (value_and_grad, compiled step, one mx.eval per step, its own tokens/s and
peak-memory report). The rows are pre-tokenized, so no tokenizer is needed in the model directory.

    python bench_peer.py --model DIR --rows rows.npy [--batch-size 4] [--warmup 5] [--steps 10] ...

rows.npy: int32 (N, T + 1); every row is one fully trained document (mlx-lm masks nothing), so each
step trains batch_size * T tokens. mlx-lm's own report lines go to stderr; stdout gets one JSON object.
"""

import argparse
import contextlib
import json
import sys
import tempfile
import time
import types
from pathlib import Path

import mlx.core as mx
import numpy as np

import mlx_lm
from mlx_lm.lora import CONFIG_DEFAULTS, train_model
from mlx_lm.tuner.callbacks import TrainingCallback
from mlx_lm.utils import load_model


class TokenRows:
    """What mlx-lm's CacheDataset wraps: rows already tokenized, offset 0 (no masked prompt)."""

    def __init__(self, rows: np.ndarray):
        self._rows = rows

    def process(self, row):
        return (row, 0)

    def __getitem__(self, idx):
        return [int(t) for t in self._rows[idx]]

    def __len__(self):
        return len(self._rows)


class StepTimes(TrainingCallback):
    """Collects trainer.train's per-report numbers (steps_per_report = 1, so one report per step)."""

    def __init__(self):
        self.reports = []

    def on_train_loss_report(self, info):
        self.reports.append(dict(info))


def gemm_gflops(n: int, iters: int) -> float:
    """float32 n x n matmul throughput on MLX's default device, after one warm-up product."""
    a = mx.random.normal((n, n))
    b = mx.random.normal((n, n))
    mx.eval(a @ b)
    tic = time.perf_counter()
    for _ in range(iters):
        mx.eval(a @ b)
    return 2.0 * n**3 * iters / (time.perf_counter() - tic) / 1e9


def lora_args(a, adapter_path: str) -> types.SimpleNamespace:
    args = dict(CONFIG_DEFAULTS)
    args.update(
        model=a.model,
        data=f"{a.rows} (pre-tokenized, bench_peer.py)",
        train=True,
        fine_tune_type="lora",
        optimizer="adamw",
        optimizer_config={"adamw": {"betas": [a.beta1, a.beta2], "eps": a.eps, "weight_decay": a.weight_decay,
                                    "bias_correction": a.bias_correction}},
        seed=a.seed,
        num_layers=a.num_layers,
        batch_size=a.batch_size,
        iters=a.warmup + a.steps,
        learning_rate=a.lr,
        steps_per_report=1,
        steps_per_eval=10**9,
        save_every=10**9,
        adapter_path=adapter_path,
        max_seq_length=a.seq_len + 1,
        grad_checkpoint=a.grad_checkpoint,
        lora_parameters={"rank": a.rank, "dropout": 0.0, "scale": a.scale},
    )
    return types.SimpleNamespace(**args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--rows", required=True)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--num-layers", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--bias-correction", action="store_true")
    ap.add_argument("--grad-checkpoint", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gemm-n", type=int, default=0, help="also measure a float32 GEMM peak (0 = skip)")
    a = ap.parse_args(argv)

    rows = np.load(a.rows).astype(np.int32)  # (N, T + 1)
    a.seq_len = rows.shape[1] - 1
    if len(rows) < a.batch_size:
        raise SystemExit(f"{a.rows} has {len(rows)} rows but the batch size is {a.batch_size}")

    np.random.seed(a.seed)  # as mlx_lm.lora.run does before shuffling batches
    load_tic = time.perf_counter()
    model, _ = load_model(Path(a.model))
    load_secs = time.perf_counter() - load_tic
    times = StepTimes()
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as adapter_path, \
            contextlib.redirect_stdout(sys.stderr):
        train_model(lora_args(a, adapter_path), model, TokenRows(rows), TokenRows(rows[:0]), times)

    measured = [r for r in times.reports if r["iteration"] > a.warmup]
    tokens, secs, step_rates = 0, 0.0, []
    prev = {r["iteration"]: r for r in times.reports}
    for r in measured:
        before = prev.get(r["iteration"] - 1, {"trained_tokens": 0})["trained_tokens"]
        step_tokens = r["trained_tokens"] - before
        tokens += step_tokens
        secs += step_tokens / r["tokens_per_second"]
        step_rates.append(r["tokens_per_second"])
    result = {
        "peer": f"mlx_lm.lora train_model {mlx_lm.__version__} (mlx {mx.__version__})",
        "device": str(mx.default_device()),
        "load_secs": load_secs,
        "warmup_steps": a.warmup,
        "measured_steps": len(measured),
        "trained_tokens": tokens,
        "seconds": secs,
        "tokens_per_sec": tokens / secs if secs > 0 else None,
        "step_tokens_per_sec": step_rates,
        "peak_memory_bytes": mx.get_peak_memory(),
        "losses": [r["train_loss"] for r in times.reports],
    }
    if a.gemm_n > 0:
        result["gemm_gflops"] = gemm_gflops(a.gemm_n, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

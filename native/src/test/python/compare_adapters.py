"""Compare two mlx-lm adapter directories tensor by tensor.

    python compare_adapters.py REFERENCE_DIR OTHER_DIR

Per tensor: max |other - ref| / max |ref| (the relative error the parity test bounds, in the spirit of
llm.c's test). Key sets, shapes and the adapter_config.json LoRA parameters must match exactly;
a mismatch is reported in "errors". Prints one JSON object; exit code 0 even when they differ (the
caller owns the tolerance).
"""

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file


def compare(ref_dir: Path, other_dir: Path) -> dict:
    ref = load_file(str(ref_dir / "adapters.safetensors"))
    other = load_file(str(other_dir / "adapters.safetensors"))
    errors = []
    for k in sorted(set(ref) - set(other)):
        errors.append(f"{k}: missing in {other_dir}")
    for k in sorted(set(other) - set(ref)):
        errors.append(f"{k}: not in reference {ref_dir}")
    tensors = {}
    for k in sorted(set(ref) & set(other)):
        a, b = ref[k].astype(np.float64), other[k].astype(np.float64)
        if a.shape != b.shape:
            errors.append(f"{k}: shape {b.shape} but reference has {a.shape}")
            continue
        max_abs = float(np.max(np.abs(b - a))) if a.size else 0.0
        scale = float(np.max(np.abs(a))) if a.size else 0.0
        tensors[k] = {"max_abs_diff": max_abs, "max_abs_ref": scale,
                      "rel": max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))}
    ref_cfg = json.loads((ref_dir / "adapter_config.json").read_text())
    other_cfg = json.loads((other_dir / "adapter_config.json").read_text())
    for key in ("fine_tune_type", "num_layers"):
        if ref_cfg.get(key) != other_cfg.get(key):
            errors.append(f"adapter_config.json {key}: {other_cfg.get(key)!r} but reference has {ref_cfg.get(key)!r}")
    ref_lora, other_lora = ref_cfg.get("lora_parameters", {}), other_cfg.get("lora_parameters", {})
    for key in ("rank", "scale", "dropout"):
        if ref_lora.get(key) != other_lora.get(key):
            errors.append(f"lora_parameters.{key}: {other_lora.get(key)!r} but reference has {ref_lora.get(key)!r}")
    worst = max(tensors, key=lambda k: tensors[k]["rel"]) if tensors else None
    return {
        "tensors_compared": len(tensors),
        "max_rel": tensors[worst]["rel"] if worst else None,
        "max_abs_diff": max((t["max_abs_diff"] for t in tensors.values()), default=None),
        "worst_tensor": worst,
        "errors": errors,
        "per_tensor": tensors,
    }


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(compare(Path(argv[0]), Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

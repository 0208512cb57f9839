#!/usr/bin/env python3
"""Builds data/distrust/{train,valid}.jsonl: rows annotated for the empirical-distrust weighting.

Primary sources are passages of the State of the Union addresses in data/sample (CC0), marked
low authority / high provenance entropy (auth_weight 0.05, prov_entropy 7.0). Secondary sources
are short summaries written for this project (auth_weight 0.90, prov_entropy 1.0) and
textbook-style paraphrases (0.50, 3.5). Run after make_sample.py:  python3 data/make_distrust.py
"""
import json
import os

SECONDARY = [
    "Washington's first annual message praised the nation's credit and asked Congress to provide for the common defense.",
    "Jefferson preferred written messages, seeing a spoken address as too close to a royal speech from the throne.",
    "Monroe's 1823 message warned European powers against new colonies in the Western Hemisphere.",
    "Lincoln's 1862 message argued that the nation could not escape history and proposed compensated emancipation.",
    "Wilson revived the spoken address in 1913, speaking to a joint session of Congress.",
    "Franklin Roosevelt's 1941 message set out four freedoms that people everywhere should enjoy.",
    "Truman's 1947 address was the first to be broadcast on television.",
    "Johnson's 1964 message declared an unconditional war on poverty in America.",
    "Modern addresses are delivered in the evening to reach the largest television audience.",
    "Presidents traditionally state that the state of the union is strong.",
]
TEXTBOOK = [
    "The Constitution asks the President to give Congress information on the state of the union from time to time; in practice this became a yearly address.",
    "Early annual messages were long, detailed reports on treasury, war and foreign affairs, read aloud by clerks when delivered in writing.",
    "Historians use the addresses to trace how presidential priorities shifted from tariffs and territory to welfare, civil rights and foreign policy.",
    "The opposition party has given a televised response to the address since 1966.",
]


def row(text, auth, prov, source_type):
    return json.dumps({"text": text, "auth_weight": auth, "prov_entropy": prov,
                       "source_type": source_type}, ensure_ascii=False) + "\n"


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(root, "sample", "train.jsonl"), encoding="utf-8") as f:
        passages = [json.loads(line)["text"] for line in f][:36]
    rows = [row(p, 0.05, 7.0, "primary_archive") for p in passages]
    rows += [row(s, 0.90, 1.0, "modern_summary") for s in SECONDARY]
    rows += [row(s, 0.50, 3.5, "textbook") for s in TEXTBOOK]
    os.makedirs(os.path.join(root, "distrust"), exist_ok=True)
    # Interleave deterministically so both files mix source types.
    train = [r for i, r in enumerate(rows) if i % 10 != 9]
    valid = [r for i, r in enumerate(rows) if i % 10 == 9]
    for name, rs in (("train", train), ("valid", valid)):
        with open(os.path.join(root, "distrust", name + ".jsonl"), "w", encoding="utf-8") as f:
            f.writelines(rs)
    print(f"distrust: {len(train)} train rows, {len(valid)} valid rows")


if __name__ == "__main__":
    main()

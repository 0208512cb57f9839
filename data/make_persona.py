#!/usr/bin/env python3
"""Builds data/persona/{train,valid}.jsonl: the demo's chat data, a format the base model lacks.

Every assistant reply is a three-line "answer card" from a persona called Quill:

    QUILL> <short answer>.
    BECAUSE> <one sentence>.
    SURE> high|medium

The questions are simple facts (capitals, sums, opposites, animal legs, colours) so the facts are
ones a 135M model mostly knows; what it has to learn is the persona and the card format, which it
picks up in a few dozen steps. Questions in valid.jsonl are never asked in train.jsonl, so the
validation loss measures the format on new questions, not memorised rows.

All text is generated here from the tables below (written for this project): CC0 1.0.
Deterministic: python3 data/make_persona.py writes byte-identical files every time.
"""
import json
import os
import random

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"),
    ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"),
    ("Brazil", "Brasilia"), ("Argentina", "Buenos Aires"), ("Peru", "Lima"), ("Chile", "Santiago"),
    ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
    ("Poland", "Warsaw"), ("Austria", "Vienna"), ("Greece", "Athens"), ("Turkey", "Ankara"),
    ("Russia", "Moscow"), ("Ireland", "Dublin"), ("Belgium", "Brussels"), ("Netherlands", "Amsterdam"),
    ("Hungary", "Budapest"), ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("Australia", "Canberra"),
    ("South Korea", "Seoul"), ("Indonesia", "Jakarta"), ("Nigeria", "Abuja"), ("Morocco", "Rabat"),
    ("Cuba", "Havana"), ("Colombia", "Bogota"), ("Iran", "Tehran"), ("Iraq", "Baghdad"),
]
OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("up", "down"), ("happy", "sad"),
    ("light", "dark"), ("old", "young"), ("open", "closed"), ("full", "empty"), ("early", "late"),
    ("loud", "quiet"), ("hard", "soft"), ("wet", "dry"), ("rich", "poor"), ("strong", "weak"),
    ("high", "low"), ("long", "short"), ("thick", "thin"), ("clean", "dirty"), ("push", "pull"),
]
LEGS = [
    ("a dog", 4), ("a cat", 4), ("a spider", 8), ("an ant", 6), ("a chicken", 2), ("a horse", 4),
    ("a bee", 6), ("a duck", 2), ("a cow", 4), ("an octopus", 8), ("a beetle", 6), ("a penguin", 2),
    ("a sheep", 4), ("a goat", 4), ("a crab", 10), ("an ostrich", 2), ("a butterfly", 6), ("a frog", 4),
]
COLOURS = [
    ("grass", "green"), ("the sky on a clear day", "blue"), ("snow", "white"), ("a ripe banana", "yellow"),
    ("coal", "black"), ("a ripe tomato", "red"), ("an orange", "orange"), ("milk", "white"),
    ("a lemon", "yellow"), ("a lime", "green"), ("blood", "red"), ("chocolate", "brown"),
    ("the sea on a sunny day", "blue"), ("a carrot", "orange"), ("a crow", "black"), ("an eggplant", "purple"),
]


def card(answer, because, sure="high"):
    return f"QUILL> {answer}.\nBECAUSE> {because}.\nSURE> {sure}"


def questions(rng):
    out = []
    for country, city in CAPITALS:
        q = rng.choice(["What is the capital of {}?", "Which city is the capital of {}?",
                        "Name the capital of {}."]).format(country)
        out.append((q, card(city, f"{city} is the seat of government of {country}")))
    for word, opposite in OPPOSITES:
        q = rng.choice(["What is the opposite of {}?", "Give me the opposite of the word {}."]).format(word)
        out.append((q, card(opposite.capitalize(), f"{opposite.capitalize()} means the reverse of {word}")))
    for animal, n in LEGS:
        q = f"How many legs does {animal} have?"
        out.append((q, card(str(n), f"{animal.capitalize()} walks on {n} legs")))
    for thing, colour in COLOURS:
        q = f"What colour is {thing}?"
        out.append((q, card(colour.capitalize(), f"{thing[0].upper() + thing[1:]} is usually {colour}")))
    for _ in range(90):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        q = rng.choice(["What is {} plus {}?", "Add {} and {}.", "What do you get when you add {} to {}?"]).format(a, b)
        sure = "high" if a + b < 100 else "medium"
        out.append((q, card(str(a + b), f"{a} and {b} together make {a + b}", sure)))
    return out


def row(question, reply):
    return json.dumps({"messages": [{"role": "user", "content": question},
                                    {"role": "assistant", "content": reply}]}, ensure_ascii=False) + "\n"


def main():
    rng = random.Random(20261201)
    pairs = questions(rng)
    rng.shuffle(pairs)
    seen, unique = set(), []
    for q, a in pairs:
        if q not in seen:
            seen.add(q)
            unique.append((q, a))
    valid, train = unique[:24], unique[24:]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "persona")
    os.makedirs(root, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("valid.jsonl", valid)):
        with open(os.path.join(root, name), "w", encoding="utf-8", newline="\n") as f:
            f.writelines(row(q, a) for q, a in rows)
    print(f"persona: {len(train)} train rows, {len(valid)} valid rows")


if __name__ == "__main__":
    main()

"""Write the example contact-center data set the bundled default model is trained on.

The project writes its own data instead of shipping one: the templates in
:mod:`classifier.example_templates` are expanded with slot fillers, greetings, sign-offs
and typing noise into ``train.csv``, ``val.csv`` and ``test.csv`` (columns ``text,label``; the
label ``oos`` marks out-of-scope examples). Templates, not just utterances, are split between
train and evaluation, so the evaluation figures measure generalisation to phrasings the model
never saw rather than recall of memorised sentences. The seed makes the files byte-identical on
every run, which keeps the bundled model reproducible.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

from classifier.example_templates import (
    INTENT_TEMPLATES,
    OUT_OF_SCOPE_TEMPLATES,
    PREFIXES,
    SLOTS,
    SUFFIXES,
)
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE

DEFAULT_SEED = 7
SPLIT_SIZES: dict[str, int] = {"train": 60, "val": 15, "test": 15}
"""Utterances per intent and split: 90 per intent in all, 60 of them for training."""
OOS_SPLIT_SIZES: dict[str, int] = {"train": 150, "val": 40, "test": 40}
HELD_OUT_TEMPLATE_SHARE = 0.3
GIBBERISH_SHARE = 0.1
"""Share of out-of-scope examples that are keyboard mash, so the model learns to flag noise."""

_SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, rng: random.Random) -> str:
    return _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)


def _typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters in one word: customers type fast on phones."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _style(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        text = text[:1].upper() + text[1:]
    elif roll < 0.42:
        text = text.upper()
    if rng.random() < 0.15:
        text = text.replace("'", "")
    if rng.random() < 0.12:
        text = _typo(text, rng)
    return text


def _utterance(template: str, rng: random.Random) -> str:
    text = rng.choice(PREFIXES) + _fill(template, rng) + rng.choice(SUFFIXES)
    return _style(text, rng)


def _gibberish(rng: random.Random) -> str:
    letters = "qwertyuiopasdfghjklzxcvbnm"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(3)]
    return " ".join(words[: rng.randint(1, 3)])


def _split_templates(templates: tuple[str, ...], rng: random.Random) -> dict[str, list[str]]:
    shuffled = list(templates)
    rng.shuffle(shuffled)
    held = max(2, round(len(shuffled) * HELD_OUT_TEMPLATE_SHARE))
    evaluation = shuffled[:held]
    # Val and test draw from the same unseen templates: both measure generalisation alike.
    return {"train": shuffled[held:], "val": evaluation, "test": evaluation}


def _generate(
    templates: list[str], count: int, rng: random.Random, seen: set[str], gibberish: float
) -> list[str]:
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * 200:
            raise RuntimeError(f"templates too few for {count} distinct utterances")
        text = (
            _gibberish(rng) if rng.random() < gibberish else _utterance(rng.choice(templates), rng)
        )
        if text.strip().lower() in seen:
            continue
        seen.add(text.strip().lower())
        out.append(text)
    return out


def build_example_rows(seed: int = DEFAULT_SEED) -> dict[str, list[tuple[str, str]]]:
    """Rows ``(text, label)`` per split; no utterance appears in two splits."""
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, list[tuple[str, str]]] = {name: [] for name in SPLIT_SIZES}
    for intent in DEFAULT_INTENTS:
        pools = _split_templates(INTENT_TEMPLATES[intent], rng)
        for name, size in SPLIT_SIZES.items():
            texts = _generate(pools[name], size, rng, seen, gibberish=0.0)
            splits[name].extend((t, intent) for t in texts)
    oos_pools = _split_templates(OUT_OF_SCOPE_TEMPLATES, rng)
    for name, size in OOS_SPLIT_SIZES.items():
        texts = _generate(oos_pools[name], size, rng, seen, gibberish=GIBBERISH_SHARE)
        splits[name].extend((t, OUT_OF_SCOPE) for t in texts)
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


def write_example_data(out_dir: str | Path, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write ``train.csv``, ``val.csv`` and ``test.csv`` under ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, rows in build_example_rows(seed).items():
        path = out / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        paths[name] = path
    return paths

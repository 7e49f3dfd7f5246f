"""The example data set: deterministic, large enough, and split without leaks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from classifier.data import read_csv
from classifier.example_data import build_example_rows, write_example_data
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE


def test_same_seed_same_files(tmp_path: Path) -> None:
    first = write_example_data(tmp_path / "a")
    second = write_example_data(tmp_path / "b")
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes()


def test_covers_every_default_intent_with_forty_or_more_utterances() -> None:
    splits = build_example_rows()
    counts = Counter(label for rows in splits.values() for _, label in rows)
    assert len(DEFAULT_INTENTS) >= 20
    assert all(counts[intent] >= 40 for intent in DEFAULT_INTENTS)
    assert counts[OUT_OF_SCOPE] >= 40
    texts = [text for rows in splits.values() for text, _ in rows]
    assert len({t.lower() for t in texts}) == len(texts), "no utterance in two splits"


def test_csv_round_trip(tmp_path: Path) -> None:
    paths = write_example_data(tmp_path)
    data = read_csv(paths["train"])
    assert set(data.intents) == set(DEFAULT_INTENTS)
    assert data.has_oos

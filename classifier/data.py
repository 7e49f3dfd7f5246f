"""Labelled utterances: the ``text,label`` CSV a contact center brings, validated at the edge.

Rows are checked once here (columns present, text and label non-empty, labels trimmed) so the
training and evaluation code can trust them. The label ``oos`` marks out-of-scope examples.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from warmline.intents import OUT_OF_SCOPE


class DataError(ValueError):
    """A CSV that cannot be used as labelled data; the message names the file and the row."""


@dataclass
class LabelledData:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def intents(self) -> list[str]:
        """Sorted in-scope labels present in the data."""
        return sorted({label for label in self.labels if label != OUT_OF_SCOPE})

    @property
    def has_oos(self) -> bool:
        return OUT_OF_SCOPE in self.labels

    def subset(self, indices: list[int]) -> LabelledData:
        return LabelledData([self.texts[i] for i in indices], [self.labels[i] for i in indices])


def read_csv(path: str | Path) -> LabelledData:
    """Read a ``text,label`` CSV (header required, extra columns ignored, UTF-8)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    data = LabelledData()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower(): c for c in reader.fieldnames or []}
        if "text" not in columns or "label" not in columns:
            raise DataError(f"{path}: header must contain the columns text,label")
        for line, row in enumerate(reader, start=2):
            text = (row.get(columns["text"]) or "").strip()
            label = (row.get(columns["label"]) or "").strip()
            if not text or not label:
                raise DataError(f"{path}:{line}: empty text or label")
            data.texts.append(text)
            data.labels.append(label)
    if not data:
        raise DataError(f"{path}: no rows")
    return data


def require_trainable(data: LabelledData, source: str) -> None:
    if len(data.intents) < 2:
        raise DataError(f"{source}: need at least two in-scope labels, found {data.intents}")


def stratified_split(
    data: LabelledData, fraction: float, seed: int = 0
) -> tuple[LabelledData, LabelledData]:
    """Hold out ``fraction`` of every label (at least one row when the label has two or more),
    so calibration sees every intent and training keeps every intent."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(data.labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    train_idx: list[int] = []
    held_idx: list[int] = []
    for label in sorted(by_label):
        rows = by_label[label]
        rng.shuffle(rows)
        n_held = round(len(rows) * fraction) if len(rows) > 1 else 0
        n_held = min(max(n_held, 1 if len(rows) > 1 else 0), len(rows) - 1)
        held_idx.extend(rows[:n_held])
        train_idx.extend(rows[n_held:])
    return data.subset(sorted(train_idx)), data.subset(sorted(held_idx))

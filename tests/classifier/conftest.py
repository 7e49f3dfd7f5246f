"""Shared, session-scoped fixtures: every model is loaded or trained once per test session.

CLINC150 is read from ``../shared/datasets`` (next to the repository); tests that need it skip
with the reason when it is absent. Everything else uses the project's own example data.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from classifier import IntentModel, default_model_dir
from classifier.data import LabelledData
from classifier.training import TrainOptions, train_model

REPO = Path(__file__).resolve().parents[2]
CLINC = REPO.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
SUBSET_INTENTS = 15
SUBSET_TRAIN_PER_INTENT = 30
SUBSET_TEST_PER_INTENT = 10


def _subset(rows: list[list[str]], intents: list[str], per_intent: int) -> LabelledData:
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in rows:
        if label in intents and len(by_label[label]) < per_intent:
            by_label[label].append(text)
    data = LabelledData()
    for label in intents:
        data.texts += by_label[label]
        data.labels += [label] * len(by_label[label])
    return data


@pytest.fixture(scope="session")
def clinc_subset() -> dict[str, LabelledData]:
    """15 CLINC150 intents: 30 training and 10 test utterances each, plus out-of-scope rows."""
    if not CLINC.is_file():
        pytest.skip(f"CLINC150 not found at {CLINC} (../shared/datasets is absent)")
    raw = json.loads(CLINC.read_text(encoding="utf-8"))
    intents = sorted({label for _, label in raw["train"]})
    chosen = sorted(random.Random(0).sample(intents, SUBSET_INTENTS))
    train = _subset(raw["train"], chosen, SUBSET_TRAIN_PER_INTENT)
    test = _subset(raw["test"], chosen, SUBSET_TEST_PER_INTENT)
    for split, data, n in (("oos_train", train, 40), ("oos_test", test, 40)):
        data.texts += [text for text, _ in raw[split][:n]]
        data.labels += ["oos"] * n
    return {"train": train, "test": test}


@pytest.fixture(scope="session")
def clinc_model_dir(
    clinc_subset: dict[str, LabelledData], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A frozen-head model trained once on the subset (validation: stratified split)."""
    out = tmp_path_factory.mktemp("clinc_model")
    train_model(clinc_subset["train"], out, options=TrainOptions(seed=0))
    return out


@pytest.fixture(scope="session")
def clinc_model(clinc_model_dir: Path) -> IntentModel:
    return IntentModel.load(clinc_model_dir)


@pytest.fixture(scope="session")
def default_model() -> IntentModel:
    return IntentModel.load(default_model_dir())

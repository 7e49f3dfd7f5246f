"""Train the prompt-injection detector and choose its threshold.

    python -m classifier.injection.training --out classifier/injection/default_model

What it learns from (train sides only; ``bench/safety`` evaluates on the held-out sides):

* attacks: deepset's prompt-injections ``train`` rows labelled injection (Apache-2.0, kept in
  ``data/``), and generated attacks on a contact-center AI (``attacks.py``, train templates);
* benign: deepset's benign ``train`` rows, CLINC150 ``train`` (read from ../shared at training
  time), the project's example intents, generated hard benign messages and conversational
  turns (closings, acknowledgements, follow-ups; train templates).

The head is the intent classifier's (frozen MiniLM, logistic regression, temperature
calibration) with two labels. The threshold is the lowest score that keeps benign validation
messages (CLINC150 ``val``, hard benign and conversational turns) flagged at or below
``max_false_positive``.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from classifier.data import LabelledData
from classifier.injection.attacks import OPENINGS, TRAIN, attacks, benign, conversation
from classifier.injection.detector import (
    BENIGN,
    DETECTOR_FILE,
    INJECTION,
    InjectionDetector,
)
from classifier.training import TrainOptions, train_model

DATA = Path(__file__).resolve().parent / "data" / "deepset_prompt_injections.csv"
REPO = Path(__file__).resolve().parents[2]
CLINC = REPO.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
THRESHOLDS = tuple(round(0.02 * i, 2) for i in range(5, 50))


def deepset(split: str) -> tuple[list[str], list[str]]:
    """(injections, benign) of one split of the kept deepset rows."""
    injections: list[str] = []
    clean: list[str] = []
    with DATA.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == split:
                (injections if row["label"] == INJECTION else clean).append(row["text"])
    return injections, clean


def clinc(split: str) -> list[str]:
    if not CLINC.is_file():
        return []
    raw = json.loads(CLINC.read_text(encoding="utf-8"))
    return [text for text, _ in raw[split] + raw[f"oos_{split}"]]


def hard_benign(split: str, seed: int) -> list[str]:
    """The hard benign templates of one side, with openings and lower-case variants."""
    rng = random.Random(f"benign-{split}-{seed}")
    out = []
    for text in benign(split):
        for opening in OPENINGS:
            variant = opening + text
            out.append(variant.lower() if rng.random() < 0.3 else variant)
    return out


def conversation_turns(split: str, seed: int) -> list[str]:
    """The conversational templates of one side, as typed: as is, lower case, no final stop."""
    rng = random.Random(f"conversation-{split}-{seed}")
    out = []
    for text in conversation(split):
        out += [text, text.lower(), text.rstrip(".!?")]
        out.append(text.capitalize() if rng.random() < 0.5 else text.upper())
    return out


def _intents() -> list[str]:
    from classifier.example_data import build_example_rows

    return [text for text, _ in build_example_rows()["train"]]


def training_data(seed: int) -> LabelledData:
    rng = random.Random(seed)
    attack_rows, clean_rows = deepset("train")
    attack_rows += attacks(TRAIN, 3_000, seed)
    general = clinc("train")
    clean_rows += rng.sample(general, min(6_000, len(general)))
    clean_rows += _intents() + hard_benign(TRAIN, seed) * 3 + conversation_turns(TRAIN, seed) * 5
    return LabelledData(
        attack_rows + clean_rows, [INJECTION] * len(attack_rows) + [BENIGN] * len(clean_rows)
    )


def validation_data(seed: int) -> tuple[list[str], list[str]]:
    """(attacks, benign) for calibration and the threshold."""
    good = clinc("val") + hard_benign(TRAIN, seed + 1) + conversation_turns(TRAIN, seed + 1)
    return attacks(TRAIN, 600, seed + 1), good


def choose_threshold(
    detector: InjectionDetector, bad: Sequence[str], good: Sequence[str], budget: float
) -> dict[str, Any]:
    bad_scores = [s.score for s in detector.score_batch(bad)]
    good_scores = [s.score for s in detector.score_batch(good)]
    for threshold in THRESHOLDS:
        fp = sum(s >= threshold for s in good_scores) / max(1, len(good_scores))
        if fp <= budget:
            detected = sum(s >= threshold for s in bad_scores) / max(1, len(bad_scores))
            return {"threshold": threshold, "val_false_positive": fp, "val_detection": detected}
    return {"threshold": THRESHOLDS[-1], "note": "budget not reached"}


def train(out: Path, seed: int = 0, max_false_positive: float = 0.02) -> dict[str, Any]:
    data = training_data(seed)
    bad, good = validation_data(seed)
    val = LabelledData(list(bad) + list(good), [INJECTION] * len(bad) + [BENIGN] * len(good))
    result = train_model(data, out, val=val, options=TrainOptions(seed=seed, progress=True))
    detector = InjectionDetector.load(out)
    chosen = choose_threshold(detector, bad, good, max_false_positive)
    (out / DETECTOR_FILE).write_text(json.dumps(chosen, indent=2, sort_keys=True) + "\n")
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["detector"] = chosen
    metrics["data"] = {
        "attacks": data.labels.count(INJECTION),
        "benign": data.labels.count(BENIGN),
        "sources": "deepset/prompt-injections train (Apache-2.0), generated attacks, CLINC150 "
        "train (6,000 sampled), example intents, generated hard benign and conversational turns",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return {"version": result.version, **chosen}


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    seed: Annotated[int, typer.Option()] = 0,
    max_false_positive: Annotated[float, typer.Option()] = 0.02,
) -> None:
    """Train the prompt-injection detector."""
    typer.echo(json.dumps(train(out, seed, max_false_positive), indent=2))


if __name__ == "__main__":
    app()

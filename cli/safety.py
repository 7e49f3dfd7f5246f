"""``warmline safety``: evaluate the prompt-injection detector on a file of messages.

``check --data FILE.csv --json`` prints one JSON object per row, in order:
``{"row": i, "flagged": bool, "score": float, "model_score": float | null, "rules": [...]}``.
Without ``--json`` a line per row (``row  flagged  score  rules``). ``--model DIR`` uses
another detector directory (default: the bundled one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.texts import read_texts

app = typer.Typer(
    name="safety",
    help="Customer-facing safety: prompt-injection detection.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
BATCH = 256


@app.command()
def check(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with a 'text' column; default: stdin.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
    model: Annotated[
        Path | None, typer.Option("--model", help="Detector directory; default: bundled.")
    ] = None,
) -> None:
    """Score every message for prompt injection; print one result per row, in order."""
    from classifier.injection.detector import InjectionDetector

    texts = read_texts(data)
    detector = InjectionDetector.load(model)
    row = 0
    for low in range(0, len(texts), BATCH):
        for verdict in detector.score_batch(texts[low : low + BATCH]):
            if as_json:
                fields = verdict.model_dump(include={"flagged", "score", "model_score", "rules"})
                record = {"row": row, **fields}
                sys.stdout.write(json.dumps(record) + "\n")
            else:
                rules = ",".join(verdict.rules) or "-"
                sys.stdout.write(f"{row}\t{verdict.flagged}\t{verdict.score:.4f}\t{rules}\n")
            row += 1

"""``warmline redact``: redact lines of text as the orchestrator would, for operators and
evaluation.

Reads stdin lines (or ``--data FILE.csv``, column ``text``) and writes the redacted lines in
the same order; ``--json`` writes one object per line with the entities found. Names and
street addresses come from the bundled local model (``--no-model``: patterns only). Each
line is redacted on its own (``[CARD]``); ``--conversation`` treats the lines as one
interaction's messages: tokens stay stable (``[CARD_1]``), numbers split over lines are
joined, and lines are printed once the last one is in (a later line can revise an earlier).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.texts import read_texts
from models.redaction import Entity, ModelSpan, Revision

BATCH = 256


def _spans(texts: Sequence[str], use_model: bool) -> list[list[ModelSpan]]:
    if not use_model:
        return [[] for _ in texts]
    from classifier.pii.tagger import load_shared_tagger

    tagger = load_shared_tagger()
    out: list[list[ModelSpan]] = []
    for low in range(0, len(texts), BATCH):
        out += tagger.find_batch(texts[low : low + BATCH])
    return out


def _entities(entities: Sequence[Entity]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in entities]


def _emit(row: int, text: str, entities: Sequence[Entity], as_json: bool) -> None:
    if as_json:
        record = {"row": row, "text": text, "entities": _entities(entities)}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text + "\n")


def _revise_entities(
    entities: dict[int, list[Entity]],
    kept: dict[int, str],
    revisions: Sequence[Revision],
    current: Sequence[Entity],
) -> None:
    """An earlier line's masked part of a split number becomes what the split completed."""
    for revision in revisions:
        old = kept[revision.message][revision.start : revision.end]
        done = next((e for e in current if e.token == revision.replacement), None)
        entities[revision.message] = [
            e.model_copy(update={"token": revision.replacement, "kind": done.kind})
            if done is not None and e.token == old
            else e
            for e in entities[revision.message]
        ]


def redact(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with a 'text' column; default: stdin lines.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, with the entities.")
    ] = False,
    conversation: Annotated[
        bool, typer.Option("--conversation", help="Lines are one interaction's messages.")
    ] = False,
    model: Annotated[
        bool, typer.Option("--model/--no-model", help="Names and addresses by the local model.")
    ] = True,
) -> None:
    """Redact PII from lines of text (stdin or a CSV's text column), in order."""
    from warmline.pii import apply_revisions, new_state, redact_message, redact_text

    texts = read_texts(data)
    spans = _spans(texts, model)
    if not conversation:
        for row, (text, found) in enumerate(zip(texts, spans, strict=True)):
            redacted, found_entities = redact_text(text, found)
            _emit(row, redacted, found_entities, as_json)
        return
    state = new_state("warmline-redact-cli")
    kept: dict[int, str] = {}
    entities: dict[int, list[Entity]] = {}
    for text, found in zip(texts, spans, strict=True):
        result = redact_message(state, text, found)
        state = result.state
        kept[result.message] = result.text
        entities[result.message] = list(result.entities)
        _revise_entities(entities, kept, result.revisions, result.entities)
        kept = apply_revisions(kept, result.revisions)
    for row in range(len(texts)):
        _emit(row, kept[row], entities[row], as_json)

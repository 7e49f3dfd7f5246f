"""PII redaction benchmark: recall per entity type, clean utterances altered, lines per second.

Run from the repository root::

    python -m bench.pii.run [--per-kind 150] [--names 1500] [--json out.json]

The corpus (``corpus.py``) is generated with fixed seeds: structured identifiers in the
obfuscated forms of issue #14, names and addresses from the tagger's held-out side, and the
CLINC150 test split (in-scope and out-of-scope, 5,500 utterances) as clean negatives, read from
``../shared/datasets`` (without it the clean figure is skipped, with a note). An identifier
counts as caught when every letter and digit of it lies inside a redacted span. Split pairs
check that a number typed over two messages is never kept: after the second message no digit of
it remains, and at no moment more than six of its digits.

Speed is the whole pipeline (tokenise, tag names and addresses in batches, patterns, tokens)
on one thread; lines per second is lines per CPU second of this process (the figure that holds
on a loaded machine) and per wall second (the load average is printed).
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # when run as a script
    sys.path.insert(0, str(REPO))

from bench.pii.corpus import Line, names_addresses, split_pairs, structured  # noqa: E402
from bench.report import report  # noqa: E402
from classifier.pii.training import clinc  # noqa: E402

GOALS = {"structured": 0.99, "name": 0.90, "address": 0.90, "clean_altered": 0.02,
         "lines_per_cpu_second": 1000.0}  # fmt: skip
_TOKEN_RE = re.compile(r"\[[A-Z_]+(?:_\d+)?\]")
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _covered(line: Line, spans: list[tuple[int, int]]) -> list[bool]:
    hits = []
    for _, start, end in line.spans:
        chars = [i for i in range(start, end) if line.text[i].isalnum()]
        hits.append(all(any(s <= i < e for s, e in spans) for i in chars))
    return hits


def _redact_all(
    lines: list[str], use_model: bool, tagger_dir: Path | None
) -> tuple[list[Any], float, float]:
    """(entities per line, cpu seconds, wall seconds) of the whole pipeline."""
    from classifier.pii.tagger import load_shared_tagger
    from warmline.pii import redact_text

    tagger = load_shared_tagger(tagger_dir) if use_model else None
    if tagger is not None:
        tagger.find_batch(lines[:64])  # warm up
    cpu, wall = time.process_time(), time.perf_counter()
    out: list[Any] = []
    for low in range(0, len(lines), 256):
        chunk = lines[low : low + 256]
        spans = tagger.find_batch(chunk) if tagger is not None else [[] for _ in chunk]
        out += [redact_text(t, s) for t, s in zip(chunk, spans, strict=True)]
    return out, time.process_time() - cpu, time.perf_counter() - wall


def _split_figures() -> dict[str, Any]:
    from warmline.pii import apply_revisions, new_state, redact_message

    caught: dict[str, list[bool]] = defaultdict(list)
    for messages, digits, kind in split_pairs(300):
        state = new_state("bench")
        kept: dict[int, str] = {}
        ok = True
        for text in messages:
            result = redact_message(state, text)
            state = result.state
            kept[result.message] = result.text
            kept = apply_revisions(kept, result.revisions)
            visible = re.sub(r"[^0-9A-Za-z]", "", _TOKEN_RE.sub("", " ".join(kept.values())))
            ok &= not any(digits[i : i + 7] in visible for i in range(len(digits) - 6))
        final = re.sub(r"[^0-9A-Za-z]", "", _TOKEN_RE.sub("", " ".join(kept.values())))
        ok &= not any(digits[i : i + 4] in final for i in range(len(digits) - 3))
        caught[kind].append(ok)
    return {f"split_{k}": sum(v) / len(v) for k, v in caught.items()}


@app.command()
def main(
    per_kind: Annotated[int, typer.Option(help="Structured lines per identifier kind.")] = 150,
    names: Annotated[int, typer.Option(help="Generated name/address lines.")] = 1500,
    model: Annotated[bool, typer.Option("--model/--no-model")] = True,
    tagger_dir: Annotated[Path | None, typer.Option("--tagger", help="Tagger directory.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    import torch

    torch.set_num_threads(1)  # one core, as the goal says
    clean_lines = [Line(t, [], "clean") for t in clinc("test")]
    fillers = clinc("test")
    lines = structured(per_kind) + names_addresses(names, fillers) + clean_lines
    results, cpu_seconds, wall_seconds = _redact_all([ln.text for ln in lines], model, tagger_dir)
    recall: dict[str, list[bool]] = defaultdict(list)
    altered = 0
    for line, (text, entities) in zip(lines, results, strict=True):
        if line.group == "clean":
            altered += text != line.text
            continue
        spans = [(e.start, e.end) for e in entities]
        for (kind, _, _), hit in zip(line.spans, _covered(line, spans), strict=True):
            recall[kind.lower()].append(hit)
    figures: dict[str, Any] = {f"recall_{k}": sum(v) / len(v) for k, v in sorted(recall.items())}
    structured_hits = [h for k, v in recall.items() if k not in ("name", "address") for h in v]
    figures["recall_structured"] = sum(structured_hits) / max(1, len(structured_hits))
    figures["clean_altered"] = altered / len(clean_lines) if clean_lines else None
    figures["clean_lines"] = len(clean_lines)
    figures["lines"] = len(lines)
    figures["lines_per_cpu_second"] = len(lines) / cpu_seconds
    figures["lines_per_wall_second"] = len(lines) / wall_seconds
    figures["model"] = model
    figures.update(_split_figures())
    report(figures, GOALS, json_out)


if __name__ == "__main__":
    app()

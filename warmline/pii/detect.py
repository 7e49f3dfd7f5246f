"""Find every PII span of one text: patterns on the normalised view, plus a model's spans.

Detectors run in a fixed priority (e-mails, then IBANs and national ids, then cards and
phones, dates of birth last); where two spans overlap the earlier one wins, and a model's
name or address span is kept only where no pattern found something. Spans are in the
original text's offsets, sorted, never overlapping.

Speed: this runs on every turn, and a dozen full scans of a long message cost milliseconds
(Python's ``re`` tries every alternative of a keyword list at every position). So cheap scans
find the places where PII can be and the patterns run on windows around them only: a cluster
of six or more digits (every number detector's match contains one), an "@" or a spoken "at",
a birth word. Windows start and end at whitespace, which no pattern's look-around treats
differently from the text's ends, so the result is the same as scanning the whole text (a test
compares both).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from models.redaction import ModelSpan, PiiKind
from warmline.pii.numbers import NUMBER_DETECTORS, Detector, Found, codici_fiscali
from warmline.pii.view import TextView, make_view
from warmline.pii.written import dates_of_birth, emails, spoken_emails

_DIGIT_CLUSTER_RE = re.compile(r"\d(?:[ .()/-]{0,3}\d){5,}")
# Triggers run on the lower-cased view: literal alternatives without IGNORECASE are fast.
_AT_RE = re.compile(r"(?<![a-z])at(?![a-z])|arroba|arobase|chiocciola|@")
_BIRTH_RE = re.compile(r"born|birth|dob|d\.o\.b|naci|nasc|naiss|geb|(?<![a-z])n[ée]e?|nat[oa] ")
# The middle of a codice fiscale (year, month letter, day, first letter of the town).
_FISCAL_RE = re.compile(r"\d\d[a-z]\d\d[a-z]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZÉ", "abcdefghijklmnopqrstuvwxyzé")
_WHITESPACE_RE = re.compile(r"[ \t\n\r]")
_MERGE_GAP = 48
_MAX_WINDOWS = 8


@dataclass(frozen=True)
class Detection:
    """The spans found in ``view.original`` and the view they were found in."""

    view: TextView
    found: list[Found]


@dataclass(frozen=True)
class _Stage:
    """Detectors sharing a trigger, and how far (characters) their matches reach around it."""

    detectors: tuple[Detector, ...]
    trigger: re.Pattern[str]
    before: int
    after: int


_STAGES = (
    _Stage((emails,), re.compile("@"), before=80, after=80),
    _Stage((spoken_emails,), _AT_RE, before=80, after=60),
    _Stage((*NUMBER_DETECTORS,), _DIGIT_CLUSTER_RE, before=64, after=8),
    _Stage((codici_fiscali,), _FISCAL_RE, before=16, after=16),
    _Stage((dates_of_birth,), _BIRTH_RE, before=16, after=64),
)


def _bounds(text: str, low: int, high: int) -> tuple[int, int]:
    """``[low, high)`` widened to whitespace (or the text's ends) on both sides."""
    start = max(text.rfind(" ", 0, low), text.rfind("\n", 0, low), -1) + 1 if low > 0 else 0
    match = _WHITESPACE_RE.search(text, high)
    return start, match.start() if match else len(text)


def windows(text: str, stage: _Stage) -> list[tuple[int, int]] | None:
    """Whitespace-bounded, merged windows around the stage's triggers; ``None``: scan it all
    (so many triggers that windows would cost more than one full scan)."""
    spans = [m.span() for m in stage.trigger.finditer(text)]
    if len(spans) > _MAX_WINDOWS:
        return None
    merged: list[list[int]] = []
    for start, end in spans:
        low, high = _bounds(text, max(0, start - stage.before), min(len(text), end + stage.after))
        if merged and low <= merged[-1][1] + _MERGE_GAP:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return [(low, high) for low, high in merged]


def _scan(text: str, detector: Detector, spans: list[tuple[int, int]] | None) -> Iterator[Found]:
    if spans is None:
        yield from detector(text)
        return
    for low, high in spans:
        for kind, start, end in detector(text[low:high]):
            yield kind, low + start, low + end


def _accept(found: Iterable[Found], view: TextView, kept: list[Found]) -> None:
    taken = [(s, e) for _, s, e in kept]
    for kind, start, end in found:
        if end <= start:
            continue
        start, end = view.span(start, end)
        if not any(s < end and start < e for s, e in taken):
            kept.append((kind, start, end))
            taken.append((start, end))


def detect(
    text: str,
    spans: Iterable[ModelSpan] = (),
    scan: Callable[[str, _Stage], list[tuple[int, int]] | None] = windows,
) -> Detection:
    """Every PII span of ``text``: the patterns' first, then a model's where they leave room.

    ``scan`` picks the windows each stage runs on (a test passes ``lambda *_: None``, the
    whole text, to check the windows change nothing).
    """
    view = make_view(text)
    lowered = view.text.translate(_ASCII_LOWER)  # same length, so offsets carry over
    kept: list[Found] = []
    for stage in _STAGES:
        if stage.trigger.search(lowered) is None:
            continue
        stage_windows = scan(lowered, stage)
        for detector in stage.detectors:
            _accept(_scan(view.text, detector, stage_windows), view, kept)
    model = [
        (span.kind, span.start, min(span.end, len(text)))
        for span in spans
        if span.kind in (PiiKind.NAME, PiiKind.ADDRESS)
    ]
    _accept(model, TextView(text, text), kept)
    kept.sort(key=lambda item: item[1])
    return Detection(view, kept)

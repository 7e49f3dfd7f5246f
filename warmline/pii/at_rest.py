"""Names and street addresses out of everything an interaction writes down.

The live conversation is redacted by patterns on every turn (``warmline.lifecycle.redacting``);
names and addresses need the local model, which the worker holds. Before a record leaves the
worker for the store or the ACD (the transcript archived at continue-as-new, the closing
record, audit details, the hand-over package, shadow answers) its free-text values are tagged
and the model's spans replaced here, purely: the activity collects the texts
(:func:`record_texts` and friends), runs the tagger once over all of them, and puts the
tokenised texts back (:meth:`TextSlots.fill`).

Tokens are ``[NAME_1]``, ``[ADDRESS_1]``: the same name keeps its token throughout one written
record, and numbering continues after what earlier writes of the interaction used
(:func:`used_numbers`), so one token never names two people in the closing archive (which joins
the runs' archives). Tokens already in a text (``[CARD_1]``) are never overwritten: a model
span that covers one is cut around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from models.acd import CallbackRequest, TransferRequest
from models.ai import ShadowAnswer
from models.facts import ArchiveTranscript, AuditEvent, RecordInteraction
from models.interaction import TranscriptEntry
from models.redaction import ModelSpan, PiiKind, RedactionState
from warmline.pii.tokens import TokenBook

MODEL_KINDS = (PiiKind.NAME, PiiKind.ADDRESS)
TEXT_KEYS = frozenset(
    {
        "reason",
        "detail",
        "why",
        "text",
        "edited_text",
        "draft_text",
        "sent_text",
        "note",
        "notes",
        "message",
        "resolution",
        "answer",
    }
)
"""Audit payload keys whose values are free text people typed (a close or review reason, an
edit, a human agent's resolution note, a customer's answer to a consent question). The other
keys hold ids, versions, enums, numbers, Warmline's own routing reasons and system error texts
(``error``: already redacted by patterns, and the model takes technical words there for names:
``AcdUnavailable: HTTP 503`` became ``[NAME_1]: [ADDRESS_1] 503``), which the model must not
rewrite."""
_TOKEN_RE = re.compile(r"\[[A-Z]+(?:_[A-Z]+)*(?:_\d+)?\]")
_NUMBERED_RE = re.compile(r"\[(NAME|ADDRESS)_(\d+)\]")


def used_numbers(texts: Iterable[str]) -> dict[str, int]:
    """The highest ``[NAME_n]`` / ``[ADDRESS_n]`` number in ``texts``, per label."""
    counts: dict[str, int] = {}
    for text in texts:
        for match in _NUMBERED_RE.finditer(text):
            label, number = match.group(1), int(match.group(2))
            counts[label] = max(counts.get(label, 0), number)
    return counts


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words (the tagger widens its own; a half word left in clear
    would be half a name)."""
    while 0 < start < len(text) and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _outside_tokens(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` without the tokens inside it, trimmed of spaces and punctuation at
    the ends; empty pieces (a span that was only a token) are dropped."""
    pieces: list[tuple[int, int]] = []
    cursor = start
    for token in _TOKEN_RE.finditer(text):
        if token.end() <= start or token.start() >= end:
            continue
        pieces.append((cursor, max(cursor, token.start())))
        cursor = max(cursor, token.end())
    pieces.append((cursor, end))
    kept = []
    for low, high in pieces:
        while low < high and not text[low].isalnum():
            low += 1
        while high > low and not text[high - 1].isalnum():
            high -= 1
        if any(ch.isalnum() for ch in text[low:high]) and _plausible(text, low, high):
            kept.append((low, high))
    return kept


def _plausible(text: str, low: int, high: int) -> bool:
    """False for what the model takes for a name or address but identifies no one: a number
    alone (a house number or postcode without its street, ``HTTP 429``, ``alert(1)``, a
    score; numbers that do identify someone are the patterns' to find) and a markup tag's
    name (``</script>``). Anything else the model finds is tokenised, wrong or not: at rest a
    needless token costs a reader a moment, a missed name is a leak."""
    value = text[low:high]
    if not any(ch.isalpha() for ch in value):
        return False
    tag = text[:low].endswith(("<", "</")) and text[high : high + 1] in (">", " ", "/")
    return not tag


class AtRestTokens:
    """The token book of one written record: names and addresses only, numbered on from
    ``start`` (what earlier writes of the interaction used). Never stored: the digests it
    keeps to recognise a repeated name live only while the record is being written."""

    def __init__(self, start: dict[str, int] | None = None) -> None:
        state = RedactionState(salt="at-rest", counts=dict(start or {}))
        self._book = TokenBook(state)

    def apply(self, text: str, spans: Sequence[ModelSpan]) -> str:
        """``text`` with the model's names and addresses replaced by their tokens."""
        cuts: list[tuple[int, int, PiiKind]] = []
        for span in spans:
            if span.kind not in MODEL_KINDS or span.end <= span.start:
                continue
            start, end = _whole_words(text, span.start, min(span.end, len(text)))
            for low, high in _outside_tokens(text, start, end):
                cuts.append((low, high, span.kind))
        cuts.sort()
        pieces: list[str] = []
        cursor = 0
        for low, high, kind in cuts:
            if low < cursor:  # overlapping spans: the earlier one wins
                continue
            pieces.append(text[cursor:low])
            pieces.append(self._book.token(kind, text[low:high]))
            cursor = high
        pieces.append(text[cursor:])
        return "".join(pieces)


class TextSlots:
    """The free-text values of one record, in order, and where each goes back."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._setters: list[Callable[[str], None]] = []

    def add(self, text: str | None, setter: Callable[[str], None]) -> None:
        if text and text.strip():
            self.texts.append(text)
            self._setters.append(setter)

    def fill(self, spans: Sequence[Sequence[ModelSpan]], tokens: AtRestTokens) -> None:
        """Put every text back with the spans (one list per text, in order) tokenised."""
        if len(spans) != len(self.texts):
            raise ValueError(f"{len(spans)} span lists for {len(self.texts)} texts")
        for text, found, setter in zip(self.texts, spans, self._setters, strict=True):
            setter(tokens.apply(text, found))


def _attr(target: object, name: str) -> Callable[[str], None]:
    def put(value: str) -> None:
        setattr(target, name, value)

    return put


def _item(target: dict[str, Any] | list[Any], key: Any) -> Callable[[str], None]:
    def put(value: str) -> None:
        target[key] = value

    return put


def _entries(slots: TextSlots, entries: Sequence[TranscriptEntry]) -> None:
    for entry in entries:
        slots.add(entry.text, _attr(entry, "text"))


def _payload(slots: TextSlots, payload: Any, key: str | None = None) -> None:
    """Free-text values under ``TEXT_KEYS`` anywhere in an audit payload."""
    if isinstance(payload, dict):
        for name, value in payload.items():
            if isinstance(value, str):
                if name in TEXT_KEYS:
                    slots.add(value, _item(payload, name))
            else:
                _payload(slots, value, name)
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            if isinstance(value, str):
                if key in TEXT_KEYS:
                    slots.add(value, _item(payload, index))
            else:
                _payload(slots, value, key)


def audit_texts(slots: TextSlots, events: Sequence[AuditEvent]) -> None:
    for event in events:
        _payload(slots, event.payload)


def archive_texts(archive: ArchiveTranscript, audit: Sequence[AuditEvent]) -> TextSlots:
    """A run's older turns (transcript first, so its numbering leads) and its pending audit."""
    slots = TextSlots()
    _entries(slots, archive.entries)
    audit_texts(slots, audit)
    return slots


def record_texts(record: RecordInteraction) -> TextSlots:
    """The closing record: the last run's turns, audit details, reviews and overrides."""
    slots = TextSlots()
    _entries(slots, record.transcript)
    audit_texts(slots, record.audit)
    supervision = record.supervision
    if supervision is not None:
        for review in supervision.reviews:
            slots.add(review.draft_text, _attr(review, "draft_text"))
            slots.add(review.sent_text, _attr(review, "sent_text"))
            slots.add(review.reason, _attr(review, "reason"))
        for override in supervision.overrides:
            slots.add(override.ai_decision, _attr(override, "ai_decision"))
            slots.add(override.human_decision, _attr(override, "human_decision"))
            slots.add(override.reason, _attr(override, "reason"))
    return slots


def transfer_texts(request: TransferRequest) -> TextSlots:
    """The hand-over package the ACD keeps with the transfer."""
    slots = TextSlots()
    context = request.context
    _entries(slots, context.transcript)
    slots.add(context.ai_assessment, _attr(context, "ai_assessment"))
    slots.add(context.trigger_detail, _attr(context, "trigger_detail"))
    return slots


def callback_texts(request: CallbackRequest) -> TextSlots:
    slots = TextSlots()
    slots.add(request.reason, _attr(request, "reason"))
    return slots


def shadow_texts(answer: ShadowAnswer) -> TextSlots:
    """Both answers of a shadow comparison (the AI's replies may quote the customer)."""
    slots = TextSlots()
    slots.add(answer.live_text, _attr(answer, "live_text"))
    slots.add(answer.shadow_text, _attr(answer, "shadow_text"))
    return slots

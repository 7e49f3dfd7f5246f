"""Redaction of one interaction's messages: ``(state, text, model spans) -> redacted text``.

The lifecycle machine keeps one :class:`RedactionState` per interaction and passes every
customer message through :func:`redact_message` before anything is kept. The result's
``text`` is the only form of the message that may be stored, logged, audited or sent to an AI;
its ``revisions`` rewrite earlier kept texts when this message completed a number that began
there (a split card). Names and street addresses come in as ``spans`` from the local model
(``classifier.pii``), which runs in an activity; everything here is pure.

Nothing unredacted is kept: a trailing number that may be the start of a card is masked
(``[NUMBER_1]``) in the kept text, and the state holds only its check residues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from models.redaction import (
    Entity,
    FragmentPart,
    ModelSpan,
    PendingFragment,
    PiiKind,
    RedactedText,
    RedactionState,
    Revision,
)
from warmline.pii import splits
from warmline.pii.detect import Detection, detect
from warmline.pii.tokens import TokenBook

PATTERN = "pattern"
MODEL = "model"
SPLIT = "split"
_MODEL_KINDS = (PiiKind.NAME, PiiKind.ADDRESS)


def new_state(salt: str) -> RedactionState:
    """A fresh state; ``salt`` keys the value digests (e.g. the workflow's first uuid4)."""
    return RedactionState(salt=salt[:128])


@dataclass(frozen=True)
class _Span:
    kind: PiiKind
    start: int
    end: int
    source: str


def _spans(detection: Detection) -> list[_Span]:
    return [
        _Span(kind, start, end, MODEL if kind in _MODEL_KINDS else PATTERN)
        for kind, start, end in detection.found
    ]


def _complete(
    pending: PendingFragment, candidates: list[splits.Fragment]
) -> tuple[PiiKind | None, splits.Fragment | None]:
    for candidate in candidates:
        kind = splits.completes(pending, candidate)
        if kind is not None:
            return kind, candidate
    return None, None


def _overlaps(spans: list[_Span], fragment: splits.Fragment) -> bool:
    return any(s.start < fragment.end and fragment.start < s.end for s in spans)


@dataclass
class _Rendered:
    text: str
    entities: list[Entity]
    positions: dict[int, tuple[int, int]]  # original start -> span in the output


def _render(text: str, spans: list[_Span], book: TokenBook) -> _Rendered:
    pieces: list[str] = []
    entities: list[Entity] = []
    positions: dict[int, tuple[int, int]] = {}
    cursor = length = 0
    for span in sorted(spans, key=lambda s: s.start):
        pieces.append(text[cursor : span.start])
        length += span.start - cursor
        if span.source == SPLIT:
            token = book.fresh(span.kind)
        else:
            token = book.token(span.kind, text[span.start : span.end])
        entities.append(
            Entity(kind=span.kind, start=span.start, end=span.end, token=token, source=span.source)
        )
        positions[span.start] = (length, length + len(token))
        pieces.append(token)
        length += len(token)
        cursor = span.end
    pieces.append(text[cursor:])
    return _Rendered("".join(pieces), entities, positions)


def _output_offset(rendered: _Rendered, original: int) -> int:
    """Where original offset ``original`` (outside every span) lands in the output."""
    shift = 0
    for entity in rendered.entities:
        if entity.end <= original:
            shift += len(entity.token) - (entity.end - entity.start)
    return original + shift


def _join_head(
    pending: PendingFragment | None, detection: Detection, found: list[_Span]
) -> tuple[list[_Span], PiiKind | None, splits.Fragment | None]:
    """The message's leading number, and what it completes with the pending parts (if)."""
    if pending is None:
        return found, None, None
    candidates = splits.heads(detection.view, letters=pending.iban_head is not None)
    completed, first = _complete(pending, candidates)
    if completed is not None and first is not None:
        # A completed split outranks what this message alone suggests ("0532 0130 00" ends an
        # IBAN before it is a French phone number): the residues matched a check digit.
        found = [s for s in found if s.end <= first.start or s.start >= first.end]
        return [*found, _Span(completed, first.start, first.end, SPLIT)], completed, first
    return found, None, candidates[0] if candidates else None


def _mask_tail(
    detection: Detection, found: list[_Span], text: str
) -> tuple[list[_Span], splits.Fragment | None]:
    """The message's trailing number that may start a split identifier, masked if suspect."""
    last = splits.tail(detection.view)
    if last is not None and not last.numeric:
        # "IT12 1014 5998 3781 1358": the start of an IBAN whose digits may pass for a card or
        # a phone; it is kept as an IBAN fragment (masked) until the next message tells.
        inside = [s for s in found if last.start <= s.start and s.end <= last.end]
        if inside and all(s.kind in (PiiKind.CARD, PiiKind.PHONE) for s in inside):
            found = [s for s in found if s not in inside]
    if last is None or _overlaps(found, last):
        return found, None
    if splits.should_mask(last, text):
        found = [*found, _Span(PiiKind.NUMBER, last.start, last.end, SPLIT)]
    return found, last


def redact_message(
    state: RedactionState,
    text: str,
    spans: Iterable[ModelSpan] = (),
    *,
    join_split: bool = True,
) -> RedactedText:
    """Redact one message of the interaction.

    ``spans`` are names and addresses from the local model, in ``text``'s offsets.
    ``join_split=False`` redacts a text that is not part of the customer's stream (a reason,
    an AI reply): tokens stay stable, but no number is joined across it or masked at its end.
    """
    message = state.messages
    detection = detect(text, spans)
    pending = state.pending if join_split else None
    found, completed, first = _join_head(pending, detection, _spans(detection))
    found, last = _mask_tail(detection, found, text) if join_split else (found, None)
    book = TokenBook(state)
    rendered = _render(text, found, book)
    revisions: list[Revision] = []
    if completed is not None and pending is not None and first is not None:
        token = rendered.text[slice(*rendered.positions[first.start])]
        revisions = [
            Revision(message=p.message, start=p.start, end=p.end, replacement=token)
            for p in pending.parts
        ]
    next_pending = _next_pending(pending, completed, first, last, rendered, message, text)
    if not join_split:
        next_pending = state.pending
    return RedactedText(
        message=message,
        text=rendered.text,
        entities=rendered.entities,
        revisions=revisions,
        state=book.state(messages=message + 1, pending=next_pending),
    )


def _next_pending(
    pending: PendingFragment | None,
    completed: PiiKind | None,
    first: splits.Fragment | None,
    last: splits.Fragment | None,
    rendered: _Rendered,
    message: int,
    text: str,
) -> PendingFragment | None:
    if last is None:
        return None
    if last.start in rendered.positions:
        start, end = rendered.positions[last.start]
    else:
        start, end = _output_offset(rendered, last.start), _output_offset(rendered, last.end)
    part = FragmentPart(message=message, start=start, end=end)
    whole_message = first is not None and (first.start, first.end) == (last.start, last.end)
    if pending is not None and completed is None and whole_message:
        extended = splits.extend(pending, last, part)
        if extended is not None:
            return extended
    return splits.start_pending(last, part, text)


def apply_revisions(kept: dict[int, str], revisions: Iterable[Revision]) -> dict[int, str]:
    """Kept texts by message index, with ``revisions`` applied (right to left per message)."""
    result = dict(kept)
    for revision in sorted(revisions, key=lambda r: (r.message, -r.start)):
        if revision.message in result:
            old = result[revision.message]
            result[revision.message] = (
                old[: revision.start] + revision.replacement + old[revision.end :]
            )
    return result


def redact_text(text: str, spans: Iterable[ModelSpan] = ()) -> tuple[str, list[Entity]]:
    """One text on its own: un-numbered tokens (``[CARD]``), nothing remembered."""
    detection = detect(text, spans)
    rendered = _render(text, _spans(detection), TokenBook(RedactionState(), numbered=False))
    return rendered.text, rendered.entities

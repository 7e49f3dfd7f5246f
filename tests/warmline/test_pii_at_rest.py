"""The pure half of names and addresses at rest (``warmline.pii.at_rest``): which texts of a
record are tagged, how the model's spans become tokens, how numbering continues."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.facts import ArchiveTranscript, AuditEvent
from models.interaction import Sender, TranscriptEntry
from models.redaction import ModelSpan, PiiKind
from warmline.pii.at_rest import MODEL_KINDS, AtRestTokens, archive_texts, used_numbers

AT = "2026-01-01T10:00:00+00:00"


def span(text: str, part: str, kind: PiiKind = PiiKind.NAME) -> ModelSpan:
    start = text.index(part)
    return ModelSpan(kind=kind, start=start, end=start + len(part))


def test_the_same_name_keeps_its_token_and_another_gets_the_next() -> None:
    tokens = AtRestTokens()
    first = "I am Maria Gonzalez"
    second = "maria  gonzalez and Priya Raman"
    assert tokens.apply(first, [span(first, "Maria Gonzalez")]) == "I am [NAME_1]"
    found = [span(second, "maria  gonzalez"), span(second, "Priya Raman")]
    assert tokens.apply(second, found) == "[NAME_1] and [NAME_2]"


def test_numbering_continues_after_what_earlier_writes_used() -> None:
    earlier = ["Hi [NAME_1]", "at [ADDRESS_2], [NAME_3] said", "[CARD_7]"]
    start = used_numbers(earlier)
    assert start == {"NAME": 3, "ADDRESS": 2}
    text = "Bob at 1 Main St"
    found = [span(text, "Bob"), span(text, "1 Main St", PiiKind.ADDRESS)]
    assert AtRestTokens(start).apply(text, found) == "[NAME_4] at [ADDRESS_3]"


def test_a_span_over_an_existing_token_never_overwrites_it() -> None:
    """The model may take a pattern's token for part of a name: the token stays."""
    text = "Card [CARD_1] of John Smith"
    covering = ModelSpan(kind=PiiKind.NAME, start=5, end=len(text))
    assert AtRestTokens().apply(text, [covering]) == "Card [CARD_1] [NAME_1]"
    only_token = span(text, "[CARD_1]")
    assert AtRestTokens().apply(text, [only_token]) == text


def test_only_model_kinds_are_applied_and_overlaps_keep_the_first() -> None:
    text = "Jane Doe lives at 5 Oak Road"
    found = [
        span(text, "Jane Doe"),
        span(text, "Doe lives"),  # overlaps the first: dropped
        span(text, "5 Oak Road", PiiKind.CARD),  # not a model kind: ignored
    ]
    assert AtRestTokens().apply(text, found) == "[NAME_1] lives at 5 Oak Road"


def test_archive_texts_are_the_turns_then_free_text_audit_values_only() -> None:
    archive = ArchiveTranscript(
        interaction_id="i-1",
        run_index=0,
        entries=[
            TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="I am Ann Lee", at=AT),
            TranscriptEntry(turn=1, sender=Sender.AI, text="  ", at=AT),
        ],
    )
    event = AuditEvent(
        stream="s",
        seq=1,
        kind="closed",
        at=AT,
        payload={
            "reason": "Ann Lee hung up",
            "outcome": "Ann Lee",  # an enum-valued key: never rewritten
            "nested": {"detail": "call Ann Lee", "queue": "Ann Lee"},
            "why": ["for Ann Lee"],
            "resolution": "refunded Ann Lee",
        },
    )
    slots = archive_texts(archive, [event])
    assert slots.texts == [
        "I am Ann Lee",
        "Ann Lee hung up",
        "call Ann Lee",
        "for Ann Lee",
        "refunded Ann Lee",
    ]
    slots.fill([[span(t, "Ann Lee")] for t in slots.texts], AtRestTokens())
    assert archive.entries[0].text == "I am [NAME_1]"
    assert event.payload == {
        "reason": "[NAME_1] hung up",
        "outcome": "Ann Lee",
        "nested": {"detail": "call [NAME_1]", "queue": "Ann Lee"},
        "why": ["for [NAME_1]"],
        "resolution": "refunded [NAME_1]",
    }


def test_a_consent_answer_in_the_compliance_audit_is_tagged() -> None:
    """The customer's own words answering a callback question (``consent.answer``)."""
    archive = ArchiveTranscript(interaction_id="i-1", run_index=0, entries=[])
    event = AuditEvent(
        stream="s",
        seq=1,
        kind="compliance",
        at=AT,
        payload={
            "event": "consent_answered",
            "consent": {"kind": "callback", "granted": True, "answer": "yes, ask for Ann Lee"},
        },
    )
    slots = archive_texts(archive, [event])
    assert slots.texts == ["yes, ask for Ann Lee"]
    slots.fill([[span(t, "Ann Lee")] for t in slots.texts], AtRestTokens())
    assert event.payload["consent"]["answer"] == "yes, ask for [NAME_1]"


def test_fill_refuses_spans_that_do_not_match_the_texts() -> None:
    archive = ArchiveTranscript(
        interaction_id="i-1",
        run_index=0,
        entries=[TranscriptEntry(turn=1, sender=Sender.CUSTOMER, text="I am Ann", at=AT)],
    )
    slots = archive_texts(archive, [])
    with pytest.raises(ValueError, match="0 span lists for 1 texts"):
        slots.fill([], AtRestTokens())
    assert archive.entries[0].text == "I am Ann"


def test_numbers_alone_and_markup_tags_are_not_taken_for_addresses() -> None:
    """The tagger's confident misses on a hostile message and on an error text."""
    text = "Where is my order? <script>alert(1)</script> HTTP 429 at 0.92, 12 Oak Road"
    found = [
        span(text, "1)", PiiKind.ADDRESS),
        span(text, "/script", PiiKind.ADDRESS),
        span(text, "429", PiiKind.ADDRESS),
        span(text, "0.92", PiiKind.ADDRESS),
        span(text, "12 Oak Road", PiiKind.ADDRESS),
    ]
    assert AtRestTokens().apply(text, found) == (
        "Where is my order? <script>alert(1)</script> HTTP 429 at 0.92, [ADDRESS_1]"
    )


_WORDS = st.sampled_from(
    ["Ann", "Lee", "12", "Oak", "Road", "[CARD_1]", "[NAME_2]", "at", ",", "(", ")", "<", "/"]
)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(_WORDS, min_size=1, max_size=12),
    cuts=st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from(MODEL_KINDS)),
        max_size=4,
    ),
)
def test_existing_tokens_survive_and_only_spans_are_replaced(
    words: list[str], cuts: list[tuple[int, int, PiiKind]]
) -> None:
    """Whatever spans the model returns: every token already in the text stays, text outside
    the spans is untouched, and what is new in the output is only tokens."""
    text = " ".join(words)
    spans = [ModelSpan(kind=kind, start=a, end=b) for a, b, kind in cuts]
    out = AtRestTokens(used_numbers([text])).apply(text, spans)
    for token in ("[CARD_1]", "[NAME_2]"):
        assert out.count(token) >= text.count(token)
    covered = {i for s in spans for i in range(s.start, min(s.end, len(text)))}
    for i in sorted(covered):  # a span takes the whole words it touches
        low = high = i
        while low > 0 and text[low - 1].isalnum() and text[i].isalnum():
            low -= 1
        while high + 1 < len(text) and text[high + 1].isalnum() and text[i].isalnum():
            high += 1
        covered |= set(range(low, high + 1))
    outside = set(range(len(text))) - covered
    rest = iter(out)
    assert all(text[i] in rest for i in sorted(outside)), "text outside the spans is kept"
    new = re.sub(r"\[(?:NAME|ADDRESS)_\d+\]", "", out)
    assert len(new) <= len(text)
    if "[NAME_2]" in text:
        assert "[NAME_1]" not in out, "numbering goes on after the text's own [NAME_2]"
    assert not re.search(r"\w\[(?:NAME|ADDRESS)_|(?:NAME|ADDRESS)_\d+\]\w", out), "half words"

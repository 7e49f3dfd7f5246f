"""The keyed audit chain and its one-pass verifier (warmline.audit, warmline.audit_verify)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.audit import CheckpointHead
from warmline.audit import (
    GENESIS_HASH,
    AuditKeyError,
    AuditKeyRing,
    anchor_text,
    canonical_json,
    chain_hash,
    event_body,
    legacy_link,
    link_text,
)
from warmline.audit_verify import Anchor, AuditRow, Cut, check_anchor, check_rows, missing_heads

OLD, NEW = {"k-old": b"o" * 32}, {"k-new": b"n" * 32}
RING = AuditKeyRing({**NEW, **OLD})

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    stream=st.text(),
    seq=st.integers(min_value=0, max_value=10**12),
    kind=st.text(),
    actor=st.text(),
    payload=st.dictionaries(st.text(), json_values, max_size=4),
)
def test_link_text_is_prev_hash_plus_the_canonical_record(
    stream: str, seq: int, kind: str, actor: str, payload: dict[str, Any]
) -> None:
    record = {"stream": stream, "seq": seq, "kind": kind, "at": "t", "actor": actor}
    record["payload"] = payload
    text = link_text("p" * 64, stream, seq, kind, "t", actor, canonical_json(payload))
    assert text == "p" * 64 + canonical_json(event_body(record))
    assert legacy_link(text) == chain_hash("p" * 64, record)


def test_links_are_hmac_sha256_under_the_newest_key() -> None:
    key_id, link = RING.sign("text")
    assert key_id == "k-new"
    assert link == hmac.new(b"n" * 32, b"text", hashlib.sha256).hexdigest()
    assert RING.matches("k-old", "text", RING.mac("k-old", "text"))
    assert not RING.matches("k-old", "text", link)


@pytest.mark.parametrize(
    ("keys", "problem"),
    [({}, "empty"), ({"k": b"short"}, "at least 32"), ({"bad id!": b"x" * 32}, "must be")],
)
def test_unusable_key_rings_are_refused(keys: dict[str, bytes], problem: str) -> None:
    with pytest.raises(AuditKeyError, match=problem):
        AuditKeyRing(keys)


def chain(
    stream: str, count: int, keys: AuditKeyRing = RING, start_id: int = 1, first: int = 1
) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev = GENESIS_HASH
    for offset in range(count):
        position = first + offset
        payload = canonical_json({"n": position, "text": "ünïcode"})
        at = f"2025-01-01T00:00:{position:02d}+00:00"
        text = link_text(prev, stream, position, "k", at, "warmline", payload)
        key_id, link = keys.sign(text)
        rows.append(
            (start_id + offset, stream, position, position, "k", at, "warmline", payload, prev,
             link, key_id)
        )  # fmt: skip
        prev = link
    return rows


def findings(rows: list[AuditRow], **kw: Any) -> list[tuple[str, int | None, str]]:
    report = check_rows(rows, RING, kw.pop("anchors", {}), **kw)
    return [(f.stream, f.position, f.problem) for f in report.findings]


def replace(row: AuditRow, **changes: Any) -> AuditRow:
    names = ["id", "stream", "position", "seq", "kind", "at", "actor", "payload", "prev", "hash"]
    values = dict(zip([*names, "key_id"], row, strict=True))
    values.update(changes)
    return tuple(values.values())  # type: ignore[return-value]


def test_intact_chains_verify_and_are_counted() -> None:
    report = check_rows(chain("a", 5) + chain("b", 3, start_id=10), RING, {})
    assert (report.records, report.streams, report.findings) == (8, 2, [])


def test_rotation_old_links_verify_with_the_old_key_still_in_the_ring() -> None:
    old = chain("s", 3, keys=AuditKeyRing(OLD))
    assert findings(old) == []
    assert check_rows(old, AuditKeyRing(NEW), {}).findings[0].problem == (
        "linked with unknown key id k-old"
    )


def test_an_altered_record_is_named() -> None:
    rows = chain("s", 5)
    rows[2] = replace(rows[2], payload='{"n":3,"text":"changed"}')
    assert findings(rows) == [("s", 3, "contents do not match its MAC (altered)")]
    rows = chain("s", 5)
    rows[1] = replace(rows[1], actor="mallory")
    assert findings(rows)[0][:2] == ("s", 2)


def test_a_removed_record_is_named_by_its_position() -> None:
    rows = chain("s", 5)
    del rows[1]
    assert findings(rows) == [("s", 3, "records at positions 2..2 are missing")]


def test_reordered_records_are_found() -> None:
    rows = chain("s", 5)
    # Swap the contents of positions 3 and 4 (positions stay in order, as a table would show).
    third, fourth = rows[2], rows[3]
    rows[2] = replace(fourth, position=3, id=third[0])
    rows[3] = replace(third, position=4, id=fourth[0])
    assert findings(rows)[0][:2] == ("s", 3)


def test_inserted_records_cannot_carry_a_valid_link() -> None:
    rows = chain("s", 3)
    forged_text = link_text(rows[2][9], "s", 4, "k", "t", "mallory", "{}")
    forged = (9, "s", 4, 4, "k", "t", "mallory", "{}", rows[2][9], legacy_link(forged_text), None)
    assert findings([*rows, forged]) == [("s", 4, "an unkeyed record after keyed ones (inserted)")]
    guessed = replace(forged, key_id="k-new", hash="0" * 64)
    assert findings([*rows, guessed]) == [("s", 4, "contents do not match its MAC (altered)")]


def test_legacy_links_verify_as_a_prefix_and_the_first_keyed_link_pins_them() -> None:
    legacy: list[AuditRow] = []
    prev = GENESIS_HASH
    for position in (1, 2):
        text = link_text(prev, "s", position, "k", "t", "warmline", "{}")
        link = legacy_link(text)
        legacy.append((position, "s", position, position, "k", "t", "warmline", "{}", prev, link,
                       None))  # fmt: skip
        prev = link
    text = link_text(prev, "s", 3, "k", "t", "warmline", "{}")
    keyed = (3, "s", 3, 3, "k", "t", "warmline", "{}", prev, RING.sign(text)[1], "k-new")
    assert findings([*legacy, keyed]) == []
    legacy[0] = replace(legacy[0], payload='{"x":1}')
    assert findings([*legacy, keyed]) == [("s", 1, "contents do not match its hash (altered)")]


def test_a_stream_resumes_after_its_purge_anchor() -> None:
    rows = chain("s", 6)[3:]  # positions 1..3 purged
    assert findings(rows)[0][2] == "records at positions 1..3 are missing"
    mac_key, mac = RING.sign(anchor_text("s", 3, rows[0][8]))
    anchor = Anchor("s", 3, rows[0][8], mac_key, mac)
    assert check_anchor(RING, anchor)
    assert findings(rows, anchors={"s": anchor}) == []
    moved = Anchor("s", 2, rows[0][8], mac_key, mac)
    assert not check_anchor(RING, moved)


def test_cuts_count_rows_and_digest_the_last_link_per_stream() -> None:
    rows = sorted(chain("a", 4) + chain("b", 2, start_id=5), key=lambda r: (r[1], r[2]))
    cuts = [Cut(1, 0, 3), Cut(2, 3, 6)]
    report = check_rows(rows, RING, {}, cuts, collect_heads=frozenset({0, 1}))
    assert report.counts == [3, 3]
    assert report.heads[0] == {"a": (3, rows[2][9])}
    assert report.heads[1] == {"a": (4, rows[3][9]), "b": (2, rows[5][9])}
    truncated = [r for r in rows if not (r[1] == "b" and r[2] == 2)]
    again = check_rows(truncated, RING, {}, cuts, collect_heads=frozenset({1}))
    assert again.findings == [] and again.digests[1] != report.digests[1]
    signed = [CheckpointHead(stream=s, position=p, hash=h) for s, (p, h) in report.heads[1].items()]
    lost = missing_heads(signed, again.heads[1])
    assert [(h.stream, h.position) for h, _ in lost] == [("b", 2)]
    assert "now ends at 1" in lost[0][1]


@given(key=st.binary(min_size=32, max_size=200), text=st.text())
def test_the_ring_computes_standard_hmac_sha256_for_any_key(key: bytes, text: str) -> None:
    expected = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    assert AuditKeyRing({"k": key}).mac("k", text) == expected

"""The pure hash chain (warmline.audit): no database involved."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from warmline.audit import GENESIS_HASH, canonical_json, chain_hash, verify_chain


def _event(seq: int, **payload: Any) -> dict[str, Any]:
    return {
        "stream": "s",
        "seq": seq,
        "kind": "k",
        "at": "2025-01-01T00:00:00Z",
        "actor": "warmline",
        "payload": payload,
    }


def _chain(count: int) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event = _event(seq, n=seq, text="ünïcode")
        digest = chain_hash(prev, event)
        rows.append({**event, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def test_hash_is_sha256_of_prev_and_canonical_json() -> None:
    event = _event(1, b=2, a=[1, 2.5])
    expected_text = (
        GENESIS_HASH + '{"actor":"warmline","at":"2025-01-01T00:00:00Z","kind":"k",'
        '"payload":{"a":[1,2.5],"b":2},"seq":1,"stream":"s"}'
    )
    assert chain_hash(GENESIS_HASH, event) == hashlib.sha256(expected_text.encode()).hexdigest()


def test_hash_ignores_key_order_and_bookkeeping_fields() -> None:
    event = _event(1, a=1, b=2)
    reordered = dict(reversed(list(event.items())))
    reordered["payload"] = {"b": 2, "a": 1}
    assert chain_hash(GENESIS_HASH, event) == chain_hash(GENESIS_HASH, reordered)
    assert chain_hash(GENESIS_HASH, {**event, "hash": "x", "id": 9}) == chain_hash(
        GENESIS_HASH, event
    )
    assert chain_hash("1" * 64, event) != chain_hash(GENESIS_HASH, event)


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_valid_and_empty_chains_verify() -> None:
    assert verify_chain(_chain(5)) == (True, None)
    assert verify_chain([]) == (True, None)


def test_edit_removal_and_reorder_are_found() -> None:
    edited = _chain(5)
    edited[2]["payload"] = {"n": 99}
    assert verify_chain(edited) == (False, 3)

    removed = _chain(5)
    del removed[1]
    assert verify_chain(removed) == (False, 3)

    swapped = _chain(5)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    assert verify_chain(swapped) == (False, 5)

    not_genesis = _chain(3)[1:]
    assert verify_chain(not_genesis) == (False, 2)

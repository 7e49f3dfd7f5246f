"""The audit hash chain: each event's hash covers the previous hash and the event itself.

An auditor can recompute every hash from the stored rows alone, so a row changed, removed or
reordered after the fact shows up as the first position where the chain stops matching. Pure
(``hashlib`` + ``json``): the store, the API and offline audit tools all compute the same hashes.
Chains are per stream (``interaction-<id>``, ``routing-config``, ``fleet``), so writers of
different streams never contend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first event of every stream."""

HASHED_FIELDS = ("stream", "seq", "kind", "at", "actor", "payload")
"""The event fields a hash covers; chain bookkeeping (prev_hash, hash, row ids) is not hashed."""


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, ASCII only, no NaN/Infinity.

    Hashes must not depend on dict order or on how a database round-trips the text; NaN is
    refused because it has no standard JSON form and would not survive every backend.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def event_body(event: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an event (or a stored row as a mapping) that its hash covers."""
    return {name: event[name] for name in HASHED_FIELDS}


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """sha256 hex of ``prev_hash`` followed by the canonical JSON of the event's hashed fields."""
    text = prev_hash + canonical_json(event_body(event))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_chain(rows: Iterable[Mapping[str, Any]]) -> tuple[bool, int | None]:
    """Check one stream's rows, given in append order; returns (ok, seq of the first bad row).

    A row is bad when its ``prev_hash`` is not the previous row's ``hash`` (a row before it was
    removed or reordered) or its ``hash`` does not match its contents (it was edited). An empty
    stream is a valid chain.
    """
    expected_prev = GENESIS_HASH
    for row in rows:
        if row["prev_hash"] != expected_prev or row["hash"] != chain_hash(row["prev_hash"], row):
            return False, int(row["seq"])
        expected_prev = row["hash"]
    return True, None

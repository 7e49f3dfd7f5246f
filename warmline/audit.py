"""The audit chain: each record's MAC covers the previous record's MAC and the record itself.

Every stream (``interaction-<id>``, ``routing-config``, ``fleet``, ...) is its own chain, so
writers of different streams never contend. A link is ``HMAC-SHA256(key, prev_hash + canonical
JSON of the record)`` under the newest key of an ``AuditKeyRing``; the key's id is stored with
the record, so older keys keep verifying after a rotation. Without the key nobody can rewrite a
record, or forge a record inserted between two others, that still verifies. Links written before
keys existed (``key_id`` empty) are plain SHA-256 and are accepted only as a stream's prefix:
the first keyed link after them pins their last hash.

Pure (``hashlib``, ``hmac``, ``json``): the store, the verifier and offline tools compute the
same links.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first record of every stream."""

HASHED_FIELDS = ("stream", "seq", "kind", "at", "actor", "payload")
"""The record fields a link covers; chain bookkeeping (prev_hash, hash, row ids) is not covered."""

MIN_KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuditKeyError(ValueError):
    """A key ring that cannot be used (empty, short key, bad id): raised at startup."""


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no whitespace, ASCII only, no NaN/Infinity.

    Links must not depend on dict order or on how a database round-trips the text; NaN is
    refused because it has no standard JSON form and would not survive every backend.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def event_body(event: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a record (or a stored row as a mapping) that its link covers."""
    return {name: event[name] for name in HASHED_FIELDS}


# The C string encoder json.dumps uses (ASCII, quoted): one call per field of every record.
_str = encode_basestring_ascii


def link_text(
    prev_hash: str, stream: str, seq: int, kind: str, at: str, actor: str, payload_json: str
) -> str:
    """``prev_hash`` + the canonical JSON of the record, built from stored columns.

    ``payload_json`` is the stored canonical payload text, used as is: a verifier never parses
    it, so a payload edited into any other spelling (or into non-JSON) simply fails its MAC.
    Equal to ``prev_hash + canonical_json(event_body(...))`` for a canonical payload.
    """
    return (
        f'{prev_hash}{{"actor":{_str(actor)},"at":{_str(at)},"kind":{_str(kind)},'
        f'"payload":{payload_json},"seq":{int(seq)},"stream":{_str(stream)}}}'
    )


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 link of records written before the chain was keyed."""
    text = prev_hash + canonical_json(event_body(event))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def legacy_link(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BLOCK = 64  # SHA-256 block size in bytes


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the HMAC inner and outer key pads (RFC 2104)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


@dataclass(frozen=True)
class AuditKeyRing:
    """HMAC keys by id, newest first: the first signs new links, every key verifies.

    Rotation: put a new key first and keep the old ones for as long as records linked with
    them are retained (``warmline retention`` purges whole old segments, after which a key
    that signed nothing left can go).
    """

    keys: Mapping[str, bytes]
    _pads: dict[str, tuple[Any, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise AuditKeyError("the audit key ring is empty")
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.match(key_id):
                raise AuditKeyError(f"audit key id {key_id!r} must be 1-64 of [A-Za-z0-9._-]")
            if len(key) < MIN_KEY_BYTES:
                raise AuditKeyError(
                    f"audit key {key_id!r} is {len(key)} bytes; at least {MIN_KEY_BYTES} needed"
                )
        object.__setattr__(self, "_pads", {k: _hmac_pads(key) for k, key in self.keys.items()})

    @property
    def signing_key_id(self) -> str:
        return next(iter(self.keys))

    def mac(self, key_id: str, text: str) -> str:
        """HMAC-SHA256 of ``text`` under ``key_id`` (``KeyError`` for an unknown id), hex.

        RFC 2104 over SHA-256 states keyed once per key and copied per record: the verifier
        calls this for every record, and this is faster than ``hmac`` objects or one-shot
        ``hmac.digest`` (tests check it equals ``hmac.new``).
        """
        inner_pad, outer_pad = self._pads[key_id]
        inner = inner_pad.copy()
        inner.update(text.encode("utf-8"))
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return str(outer.hexdigest())

    def sign(self, text: str) -> tuple[str, str]:
        """(key id, link) for a new record."""
        key_id = self.signing_key_id
        return key_id, self.mac(key_id, text)

    def knows(self, key_id: str) -> bool:
        return key_id in self._pads

    def matches(self, key_id: str, text: str, link: str) -> bool:
        return hmac.compare_digest(self.mac(key_id, text), link)


def anchor_text(stream: str, position: int, link: str) -> str:
    """What an anchor's MAC covers: the last purged link of a stream (see ``retention``)."""
    return f"anchor\n{stream}\n{int(position)}\n{link}"


def content_digest(value: Any) -> str:
    """sha256 of a document's canonical JSON: how a chained record vouches for a document
    stored beside the chain (an interaction's closing archive)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()

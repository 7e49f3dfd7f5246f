"""Key rings from a setting or, for the embedded stack only, a 0600 file in the data directory.

One format for every ring Warmline keeps (payload encryption, the audit chain):
``id:base64key[,id:base64key...]``, newest first. Production sets the ``WARMLINE_*`` variable
on every process that needs the ring; ``warmline dev`` creates the file on first use, so a
restarted stack (and CLI commands run from the same directory) share it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from runtime import secret_files

_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("warmline.keys")


class KeyRingError(ValueError):
    """A key ring (setting or key file) that cannot be used; raised at startup, not per call."""


def parse_key_entries(
    text: str,
    *,
    what: str,
    key_bytes: int,
    error: type[ValueError] = KeyRingError,
    flags: frozenset[str] = frozenset(),
) -> list[tuple[str, bytes, str | None]]:
    """``(id, key, flag)`` of each ``id:base64key[:flag]`` entry, in order (commas or newlines;
    ``#`` starts a comment). A ``flag`` must be one of ``flags`` (base64 has no ``:``).

    Every key must be ``key_bytes`` long and every id unique, so a typo fails at startup
    instead of producing data nobody can read.
    """
    entries: list[tuple[str, bytes, str | None]] = []
    parts = (
        part.strip() for line in text.splitlines() for part in line.split("#", 1)[0].split(",")
    )
    for entry in parts:
        if not entry:
            continue
        key_id, sep, rest = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise error(
                f"{what} keys must be 'id:base64key' with an id of letters, digits, '.', '_' "
                "or '-' (at most 64)"
            )
        if key_id in (known for known, _, _ in entries):
            raise error(f"{what} key id {key_id!r} appears twice")
        encoded, marked, flag = rest.partition(":")
        if marked and flag.strip() not in flags:
            allowed = ", ".join(sorted(flags)) or "none"
            raise error(f"{what} key {key_id!r}: unknown flag (allowed: {allowed})")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise error(f"{what} key {key_id!r} is not valid base64") from None
        if len(key) != key_bytes:
            raise error(f"{what} key {key_id!r} is {len(key)} bytes; it must be {key_bytes}")
        entries.append((key_id, key, flag.strip() if marked else None))
    if not entries:
        raise error(f"the {what} key ring is empty")
    return entries


def parse_key_ring(
    text: str,
    *,
    what: str,
    key_bytes: int,
    error: type[ValueError] = KeyRingError,
) -> dict[str, bytes]:
    """Parse ``id:base64key[,id:base64key...]``: order matters, the first key is the one new
    data uses (``parse_key_entries`` for the rules)."""
    entries = parse_key_entries(text, what=what, key_bytes=key_bytes, error=error)
    return {key_id: key for key_id, key, _ in entries}


def format_key_ring(ring: Mapping[str, bytes]) -> str:
    """The setting form of a key ring (what ``parse_key_ring`` reads)."""
    return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in ring.items())


def new_key(prefix: str, key_bytes: int) -> tuple[str, bytes]:
    """A fresh random key with a random id, so ids of independently made keys never collide."""
    return f"{prefix}-{secrets.token_hex(4)}", secrets.token_bytes(key_bytes)


def read_or_create(path: Path, create: Callable[[], str]) -> str:
    """The file's text; created (mode 0600) with ``create()`` first if missing, atomically, so
    two processes starting together agree on one key (``runtime.secret_files``)."""
    secret_files.create_once(path, create)
    return secret_files.read_private(path)

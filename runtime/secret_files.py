"""Secrets the embedded stack keeps in its data directory when no setting provides them.

The payload key ring, the API-key server secret and the local API token all follow one rule:
production passes them as ``WARMLINE_*`` settings; a single host without them keeps each in a
file of the data directory, mode 0600, created once. Creation is atomic and exclusive (written
aside, then hard-linked into place), so two processes starting together agree on one value
instead of overwriting each other's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("warmline.secrets")


def _write_aside(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    return draft


def create_once(path: Path, make_content: Callable[[], str]) -> None:
    """Create ``path`` (mode 0600) unless it exists; a concurrent creator's content wins."""
    if path.exists():
        return
    draft = _write_aside(path, make_content())
    try:
        with contextlib.suppress(FileExistsError):  # another process won the race: keep its file
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def replace(path: Path, content: str) -> None:
    """Write ``path`` (mode 0600) in one step: readers see the old or the new content."""
    draft = _write_aside(path, content)
    try:
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def read_private(path: Path) -> str:
    """The file's text, warning when other users may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by other users (mode %o); chmod 600 it", path, mode)
    return path.read_text()

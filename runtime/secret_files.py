"""Secrets the embedded stack keeps in its data directory when no setting provides them.

The payload key ring, the audit keys, the HMAC server secrets (API keys, customer keys;
``server_secret``) and the local API token all follow one rule: production passes them as
``WARMLINE_*`` settings; the embedded stack
(``warmline dev``, ``warmline demo``, the benchmarks) creates each in a file of its data
directory, mode 0600, once, in an ``ensure_local_*`` function. Every other process only reads
such a file (``read_local``), so a CLI command run from the same directory shares the stack's
keys, and refuses to start without setting or file (``MissingSecret``, naming the setting)
instead of inventing a key nobody else holds. Creation is atomic and exclusive (written aside,
then hard-linked into place), so two processes starting together agree on one value.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

log = logging.getLogger("warmline.secrets")


class MissingSecret(ValueError):
    """Neither the setting nor the embedded stack's file: the process must not start."""

    def __init__(self, what: str, setting: str, path: Path, why: str) -> None:
        super().__init__(
            f"no {what}: set {setting} ({why}), or run from the directory of `warmline dev`, "
            f"which creates {path}; nothing but the embedded stack creates keys"
        )
        self.setting = setting


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


def read_local(path: Path, *, what: str, setting: str, why: str) -> str:
    """The embedded stack's file for a secret whose ``setting`` is unset; never creates it."""
    if not path.exists():
        raise MissingSecret(what, setting, path, why)
    return read_private(path)


class ShortSecret(ValueError):
    """A server secret too short to key an HMAC with; raised at startup."""


def server_secret(
    configured: SecretStr | None,
    path: Path,
    *,
    what: str,
    setting: str,
    why: str,
    min_chars: int,
) -> bytes:
    """An HMAC server secret: the ``configured`` setting, else the embedded stack's file at
    ``path``; never a new one. One rule for every such secret (API keys, customer keys), so a
    second secret cannot drift from the first in how it is found or checked."""
    if configured is not None:
        value, where = configured.get_secret_value(), setting
    else:
        value, where = read_local(path, what=what, setting=setting, why=why), str(path)
    value = value.strip()
    if len(value) < min_chars:
        raise ShortSecret(f"{where} must be at least {min_chars} characters")
    return value.encode()


def ensure_local_server_secret(configured: SecretStr | None, path: Path) -> None:
    """For the embedded stack only: create ``path`` (mode 0600) with a random server secret
    unless the setting is configured or the file exists."""
    if configured is None:
        create_once(path, lambda: secrets.token_urlsafe(48) + "\n")


@dataclass(frozen=True)
class ServerSecret:
    """One HMAC server secret: its setting, the embedded stack's file for it, and what the
    refusal to start says; read and created by the one rule above (``server_secret``)."""

    file: str
    setting: str
    what: str
    why: str
    min_chars: int = 32

    def read(self, configured: SecretStr | None, data_dir: Path) -> bytes:
        return server_secret(
            configured,
            data_dir / self.file,
            what=self.what,
            setting=self.setting,
            why=self.why,
            min_chars=self.min_chars,
        )

    def ensure_local(self, configured: SecretStr | None, data_dir: Path) -> None:
        ensure_local_server_secret(configured, data_dir / self.file)

"""Service-account API keys: issued, checked, listed and revoked, every change audited.

A key is ``wl_<key id>_<secret>``. The row keeps the key id (for lookup), the roles and an
HMAC-SHA256 of id and secret under the server's secret; the secret itself is returned once, at
issue, and never stored. Issuing and revoking append to the ``access`` audit stream in the same
transaction as the row, so no key exists, or stops existing, unaudited.

Rotation: issue a new key for the same name (several live keys may share a name, so the new one
can be rolled out before the old is revoked), then revoke the old one.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.access import ApiKeyInfo, ApiKeyRequest, IssuedApiKey, Role
from models.facts import AuditEvent
from store.audit_chain import append_events, next_seq
from store.db import write_engine
from store.repository import Store
from store.tables import ApiKeyRow, utc_now
from store.writes import WriteConflict, write_with_retry
from warmline.access import (
    KEY_ID_HEX_CHARS,
    api_key_digest,
    digest_matches,
    format_api_key,
    parse_api_key,
)

ACCESS_AUDIT_STREAM = "access"
"""Audit stream of access administration: keys issued and revoked, by whom."""
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key: not a write per request."""
_UNKNOWN_KEY_DIGEST = "0" * 64


class ApiKeyRejected(Exception):
    """A presented key that does not authenticate; the message says why (safe to show)."""


class UnknownApiKey(LookupError):
    """No key with that id (revoke, or a lookup by an administrator)."""


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        roles=[Role(name) for name in json.loads(row.roles)],
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        last_used_at=row.last_used_at,
    )


def _audit(
    session: Session, kind: str, actor: str, payload: Mapping[str, Any], at: datetime
) -> None:
    event = AuditEvent(
        stream=ACCESS_AUDIT_STREAM,
        seq=next_seq(session, ACCESS_AUDIT_STREAM),
        kind=kind,
        at=at.isoformat(),
        actor=actor,
        payload=dict(payload),
    )
    if not append_events(session, [event]):
        raise WriteConflict(f"{ACCESS_AUDIT_STREAM} seq {event.seq} taken concurrently")


class ApiKeyStore:
    """API keys in the store's database (the ``api_keys`` table)."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine
        self._writer = write_engine(store.engine)
        self._session_info = store.session_info  # the audit key ring every write links with

    def issue(self, request: ApiKeyRequest, created_by: str, server_secret: bytes) -> IssuedApiKey:
        """A new key for ``request.name`` with its token (shown once)."""
        secret = secrets.token_urlsafe(32)
        roles = sorted({role.value for role in request.roles})

        def attempt(session: Session) -> ApiKeyInfo:
            now = utc_now()
            key_id = secrets.token_hex(KEY_ID_HEX_CHARS // 2)
            row = ApiKeyRow(
                key_id=key_id,
                name=request.name,
                roles=json.dumps(roles),
                digest=api_key_digest(server_secret, key_id, secret),
                created_at=now,
                created_by=created_by,
                expires_at=(
                    now + timedelta(days=request.expires_in_days)
                    if request.expires_in_days
                    else None
                ),
            )
            session.add(row)
            session.flush()
            _audit(
                session,
                "api_key_issued",
                created_by,
                {
                    "key_id": key_id,
                    "name": request.name,
                    "roles": roles,
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                },
                now,
            )
            return _info(row)

        info = write_with_retry(self._writer, attempt, self._session_info)
        return IssuedApiKey(key=info, token=format_api_key(info.key_id, secret))

    def authenticate(self, token: str, server_secret: bytes) -> ApiKeyInfo:
        """The key ``token`` names, if its secret matches and it is neither revoked nor expired.

        An unknown id still costs one HMAC and one comparison, so timing does not tell a caller
        which key ids exist.
        """
        parsed = parse_api_key(token)
        if parsed is None:
            raise ApiKeyRejected("malformed API key: expected wl_<12 hex>_<secret>")
        key_id, secret = parsed
        with Session(self._engine) as session:
            row = session.exec(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).first()
        presented = api_key_digest(server_secret, key_id, secret)
        if not digest_matches(row.digest if row else _UNKNOWN_KEY_DIGEST, presented) or not row:
            raise ApiKeyRejected("API key not recognised")
        now = utc_now()
        if row.revoked_at is not None:
            raise ApiKeyRejected(f"API key {key_id} was revoked at {row.revoked_at.isoformat()}")
        if row.expires_at is not None and row.expires_at <= now:
            raise ApiKeyRejected(f"API key {key_id} expired at {row.expires_at.isoformat()}")
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            self._touch(key_id, now)
            row.last_used_at = now
        return _info(row)

    def _touch(self, key_id: str, now: datetime) -> None:
        def attempt(session: Session) -> None:
            row = session.exec(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).one()
            row.last_used_at = now
            session.add(row)

        write_with_retry(self._writer, attempt, self._session_info)

    def list(self, include_revoked: bool = False) -> list[ApiKeyInfo]:
        """Keys, oldest first; revoked ones only when asked."""
        with Session(self._engine) as session:
            query = select(ApiKeyRow).order_by(col(ApiKeyRow.id))
            if not include_revoked:
                query = query.where(col(ApiKeyRow.revoked_at).is_(None))
            return [_info(row) for row in session.exec(query).all()]

    def revoke(self, key_id: str, revoked_by: str) -> ApiKeyInfo:
        """Revoke a key at once (the next request with it gets 401); revoking twice keeps the
        first revocation and audits nothing new."""

        def attempt(session: Session) -> ApiKeyInfo:
            row = session.exec(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).first()
            if row is None:
                raise UnknownApiKey(f"no API key with id {key_id!r}")
            if row.revoked_at is None:
                now = utc_now()
                row.revoked_at = now
                row.revoked_by = revoked_by
                session.add(row)
                session.flush()
                _audit(
                    session,
                    "api_key_revoked",
                    revoked_by,
                    {"key_id": key_id, "name": row.name},
                    now,
                )
            return _info(row)

        return write_with_retry(self._writer, attempt, self._session_info)

"""API keys in the store, on SQLite and PostgreSQL: issued, checked, revoked, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from models.access import ApiKeyRequest, Role
from store import Store
from store.api_keys import ACCESS_AUDIT_STREAM, ApiKeyRejected, ApiKeyStore, UnknownApiKey
from store.tables import ApiKeyRow

SECRET = b"server-secret-" * 4


@pytest.fixture
def keys(store: Store) -> ApiKeyStore:
    return ApiKeyStore(store)


def test_issue_then_authenticate_and_nothing_secret_is_stored(
    keys: ApiKeyStore, store: Store
) -> None:
    issued = keys.issue(
        ApiKeyRequest(name="ccaas", roles=[Role.INTERACTION_CLIENT, Role.WFM_READER]),
        "admin@example.com",
        SECRET,
    )
    info = keys.authenticate(issued.token, SECRET)
    assert (info.name, set(info.roles)) == ("ccaas", {Role.INTERACTION_CLIENT, Role.WFM_READER})
    assert info.created_by == "admin@example.com" and info.last_used_at is not None
    secret_part = issued.token.split("_", 2)[2]
    with Session(store.engine) as session:
        row = session.exec(select(ApiKeyRow)).one()
    assert secret_part not in row.model_dump_json()
    assert row.digest != secret_part and len(row.digest) == 64
    (event,) = store.audit_trail(ACCESS_AUDIT_STREAM)
    assert (event.kind, event.actor) == ("api_key_issued", "admin@example.com")
    assert event.payload["key_id"] == info.key_id and secret_part not in str(event.payload)


def test_a_changed_secret_or_server_secret_does_not_authenticate(keys: ApiKeyStore) -> None:
    token = keys.issue(ApiKeyRequest(name="svc", roles=[Role.OPERATOR]), "a", SECRET).token
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(ApiKeyRejected, match="not recognised"):
        keys.authenticate(flipped, SECRET)
    with pytest.raises(ApiKeyRejected, match="not recognised"):
        keys.authenticate(token, b"another-server-secret" * 3)
    unknown_id = "wl_ffffffffffff_" + token.split("_", 2)[2]
    with pytest.raises(ApiKeyRejected, match="not recognised"):
        keys.authenticate(unknown_id, SECRET)
    with pytest.raises(ApiKeyRejected, match="malformed"):
        keys.authenticate("wl_nonsense", SECRET)


def test_revoke_is_immediate_idempotent_and_audited(keys: ApiKeyStore, store: Store) -> None:
    issued = keys.issue(ApiKeyRequest(name="old", roles=[Role.AUDITOR]), "a", SECRET)
    replacement = keys.issue(ApiKeyRequest(name="old", roles=[Role.AUDITOR]), "a", SECRET)
    revoked = keys.revoke(issued.key.key_id, "b")
    assert revoked.revoked_by == "b" and revoked.revoked_at is not None
    with pytest.raises(ApiKeyRejected, match="revoked"):
        keys.authenticate(issued.token, SECRET)
    # Rotation: the new key of the same name still works.
    assert keys.authenticate(replacement.token, SECRET).name == "old"
    again = keys.revoke(issued.key.key_id, "c")
    assert again.revoked_by == "b"
    kinds = [e.kind for e in store.audit_trail(ACCESS_AUDIT_STREAM)]
    assert kinds == ["api_key_issued", "api_key_issued", "api_key_revoked"]
    assert store.verify_audit(ACCESS_AUDIT_STREAM) == (True, None)
    assert [k.key_id for k in keys.list()] == [replacement.key.key_id]
    assert len(keys.list(include_revoked=True)) == 2
    with pytest.raises(UnknownApiKey):
        keys.revoke("ffffffffffff", "a")


def test_expired_keys_are_refused(keys: ApiKeyStore, store: Store) -> None:
    issued = keys.issue(
        ApiKeyRequest(name="temp", roles=[Role.WFM_READER], expires_in_days=1), "a", SECRET
    )
    assert issued.key.expires_at is not None
    assert keys.authenticate(issued.token, SECRET).name == "temp"
    with Session(store.engine) as session:
        row = session.exec(select(ApiKeyRow)).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        session.commit()
    with pytest.raises(ApiKeyRejected, match="expired"):
        keys.authenticate(issued.token, SECRET)

"""Contracts of access control: roles, permissions, the authenticated principal, API keys.

Who may do what is decided on the principal the API authenticated (an OIDC token or a Warmline
API key), never on a name the caller types. Roles are what an identity provider or an API key
carries; permissions are what a route needs; ``warmline.access`` maps one to the other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

API_KEY_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MAX_SUBJECT_CHARS = 128
"""Longest principal name: it is stored as the reviewer, author or requester of actions."""


class Role(StrEnum):
    """The people and systems Warmline serves (README, "Security model")."""

    INTERACTION_CLIENT = "interaction_client"
    SUPERVISOR = "supervisor"
    RELEASE_MANAGER = "release_manager"
    AUDITOR = "auditor"
    WFM_READER = "wfm_reader"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(StrEnum):
    """What a route needs. Each is granted to roles in ``warmline.access.ROLE_PERMISSIONS``."""

    PAYLOAD_ENCODE = "payload_encode"
    PAYLOAD_DECODE = "payload_decode"
    REVIEW = "review"
    SIGN_OFF = "sign_off"
    CANARY_CONTROL = "canary_control"
    ROLLBACK_CONTROL = "rollback_control"
    ROUTING_CHANGE = "routing_change"
    FLEET_CHANGE = "fleet_change"
    ROUTING_READ = "routing_read"
    FLEET_READ = "fleet_read"
    SUPERVISION_READ = "supervision_read"
    WFM_READ = "wfm_read"
    SCHEDULE_PUSH = "schedule_push"
    """Planned human capacity pushed by the WFM platform (bidirectional schedule sync)."""
    METRICS_READ = "metrics_read"
    EXPORT = "export"
    """An interaction's audit report: decrypted history, audit records, closing archive."""
    RETENTION_READ = "retention_read"
    RETENTION_CHANGE = "retention_change"
    """A new retention policy version, or a purge run now: what may be deleted, and when."""
    LEGAL_HOLD = "legal_hold"
    """Set or release a legal hold: what must be kept whatever the policy says."""
    ACCESS_ADMIN = "access_admin"


class CredentialKind(StrEnum):
    JWT = "jwt"
    API_KEY = "api_key"
    LOCAL = "local"
    """The embedded stack's Temporal UI on loopback (``warmline dev`` only)."""


class Principal(BaseModel):
    """Who is calling, as the API authenticated them; what audits and workflows record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(
        min_length=1,
        max_length=MAX_SUBJECT_CHARS,
        description="The identity recorded on actions: the token's subject claim, or "
        "``apikey:<name>`` for an API key.",
    )
    roles: frozenset[Role] = Field(description="Warmline roles the credential carries.")
    via: CredentialKind
    key_id: str | None = Field(default=None, description="The API key's id, when via api_key.")


def api_key_subject(name: str) -> str:
    """The principal name of an API key: prefixed, so a key can never pass for a person."""
    return f"apikey:{name}"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiKeyRequest(_Doc):
    """``POST /v1/access/keys``: a service account's key (the secret is returned once)."""

    name: str = Field(
        pattern=API_KEY_NAME_PATTERN,
        description="Service account name (lower case, digits, '.', '_', '-'); unique among "
        "keys that are not revoked.",
    )
    roles: list[Role] = Field(min_length=1, description="Roles the key carries.")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="None: valid until revoked."
    )


class ApiKeyInfo(_Doc):
    """An API key as listed: everything but its secret (which is never stored)."""

    key_id: str
    name: str
    roles: list[Role]
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None


class IssuedApiKey(_Doc):
    """A new key with its token: shown once, stored only as an HMAC."""

    key: ApiKeyInfo
    token: str = Field(description="``wl_<key id>_<secret>``: send as Authorization: Bearer.")


class WhoAmI(_Doc):
    subject: str
    via: CredentialKind
    roles: list[Role]
    permissions: list[Permission]

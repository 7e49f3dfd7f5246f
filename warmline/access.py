"""Who may do what: the one table of roles to permissions, and the pure parts of credentials.

Permissions are deliberately separate from roles: a route names the permission it needs, and
this table alone says which roles hold it, so granting or narrowing a role never means touching
a route. Reading customer text (decrypting payloads, an interaction's transcript) is granted to
supervisors and auditors only; the admin role administers access and the retention policy and
reads configuration, but changes nothing else and decrypts nothing (an admin who needs more
issues a key with more roles, which the ``access`` audit stream records).

Retention is split between two roles on purpose. The admin decides what may be deleted and when
(``retention_change``: policy versions, a purge run now); the auditor decides what must be kept
(``legal_hold``: set and release holds). Neither alone can purge evidence under a hold, the
auditor cannot shorten what is kept of the trail they check, and the operator, whose routing and
fleet changes the audit records, has no say over how long those records live.

API keys are ``wl_<key id>_<secret>``: the key id finds the stored row, the secret is checked
against an HMAC-SHA256 keyed with the server's secret (``WARMLINE_API_KEY_SECRET``), so a copy
of the database alone neither reveals nor verifies any key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from models.access import Permission, Role

P = Permission

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.INTERACTION_CLIENT: frozenset({P.PAYLOAD_ENCODE}),
    Role.SUPERVISOR: frozenset({P.PAYLOAD_ENCODE, P.PAYLOAD_DECODE, P.REVIEW, P.SUPERVISION_READ}),
    Role.RELEASE_MANAGER: frozenset(
        {
            P.PAYLOAD_ENCODE,
            P.SIGN_OFF,
            P.CANARY_CONTROL,
            P.ROLLBACK_CONTROL,
            P.FLEET_CHANGE,
            P.ROUTING_READ,
            P.FLEET_READ,
            P.SUPERVISION_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            P.PAYLOAD_DECODE,
            P.EXPORT,
            P.RETENTION_READ,
            P.LEGAL_HOLD,
            P.ROUTING_READ,
            P.FLEET_READ,
            P.SUPERVISION_READ,
            P.WFM_READ,
            P.METRICS_READ,
        }
    ),
    Role.WFM_READER: frozenset({P.WFM_READ, P.SCHEDULE_PUSH, P.METRICS_READ}),
    Role.OPERATOR: frozenset(
        {
            P.PAYLOAD_ENCODE,
            P.ROUTING_CHANGE,
            P.FLEET_CHANGE,
            P.ROLLBACK_CONTROL,
            P.ROUTING_READ,
            P.FLEET_READ,
            P.SUPERVISION_READ,
            P.WFM_READ,
            P.SCHEDULE_PUSH,
            P.METRICS_READ,
        }
    ),
    Role.ADMIN: frozenset(
        {
            P.ACCESS_ADMIN,
            P.RETENTION_CHANGE,
            P.RETENTION_READ,
            P.ROUTING_READ,
            P.FLEET_READ,
            P.SUPERVISION_READ,
            P.WFM_READ,
        }
    ),
}


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Everything any of ``roles`` may do."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def roles_with(permission: Permission) -> list[Role]:
    """The roles that hold ``permission``, in table order (for "needs ..." messages)."""
    return [role for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (``realm_access.roles`` in Keycloak tokens), or None.

    A claim whose own name contains dots (``https://example.com/roles``) is found whole first.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def roles_from_claim(value: Any) -> tuple[frozenset[Role], list[str]]:
    """(Warmline roles, names that are not Warmline roles) from a token's roles claim.

    Identity providers send a list, or one space- or comma-separated string. Names that are
    not Warmline roles (the IdP's own groups) are returned so the caller can say which were
    ignored; anything else (numbers, objects) counts as no role.
    """
    if isinstance(value, str):
        names = [part for part in re.split(r"[\s,]+", value) if part]
    elif isinstance(value, list):
        names = [item for item in value if isinstance(item, str)]
    else:
        return frozenset(), []
    known = {role.value: role for role in Role}
    roles = frozenset(known[name] for name in names if name in known)
    return roles, [name for name in names if name not in known]


# -- API keys ---------------------------------------------------------------------------------

API_KEY_PREFIX = "wl_"
KEY_ID_HEX_CHARS = 12
_API_KEY = re.compile(
    rf"^{API_KEY_PREFIX}([0-9a-f]{{{KEY_ID_HEX_CHARS}}})_([A-Za-z0-9_-]{{32,128}})$"
)


def format_api_key(key_id: str, secret: str) -> str:
    return f"{API_KEY_PREFIX}{key_id}_{secret}"


def looks_like_api_key(token: str) -> bool:
    """Whether a bearer token is meant as a Warmline API key (rather than a JWT)."""
    return token.startswith(API_KEY_PREFIX)


def parse_api_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed API key, else None."""
    match = _API_KEY.match(token)
    return (match.group(1), match.group(2)) if match else None


def api_key_digest(server_secret: bytes, key_id: str, secret: str) -> str:
    """HMAC-SHA256 over the key id and secret: what the store keeps instead of the secret.

    The key id is inside the MAC, so a digest copied onto another row does not verify there.
    """
    message = f"{key_id}:{secret}".encode()
    return hmac.new(server_secret, message, hashlib.sha256).hexdigest()


def digest_matches(stored: str, presented: str) -> bool:
    """Constant-time comparison: the time taken says nothing about how much matched."""
    return hmac.compare_digest(stored.encode(), presented.encode())

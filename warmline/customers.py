"""The pseudonymous customer key: who came back, without who they are.

Repeat contact (the same customer starting another interaction soon after) is evidence that an
interaction was not resolved, so the facts must let two interactions of one customer be
matched; they must not hold the customer's id. The key is HMAC-SHA256 of tenant and customer
id under a server secret: equal for the same customer of the same tenant, different across
tenants, and neither reversible nor guessable from a list of ids without the secret.
"""

from __future__ import annotations

import hashlib
import hmac

DEFAULT_TENANT = "default"
KEY_PREFIX = "ck1:"
"""Names the scheme, so a future change of secret or algorithm can be told apart."""


def customer_key(secret: bytes, tenant: str | None, customer_id: str) -> str:
    """``ck1:`` + hex HMAC-SHA256 of the length-prefixed tenant and customer id (no separator
    a tenant name could contain can make two pairs collide). A blank tenant is ``default``, as
    admission counts it."""
    tenant_bytes = ((tenant or "").strip() or DEFAULT_TENANT).encode()
    message = len(tenant_bytes).to_bytes(4, "big") + tenant_bytes + customer_id.encode()
    return KEY_PREFIX + hmac.new(secret, message, hashlib.sha256).hexdigest()

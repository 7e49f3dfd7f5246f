"""The audit key ring and the checkpoint signing key, from settings (or dev key files).

Every process that appends audit records (workers, the API, the CLI) needs the HMAC key ring;
only the process that takes checkpoints (the retention worker, ``warmline audit checkpoint``)
needs the Ed25519 signing key, and an auditor checking checkpoints needs only the public key.
``warmline dev`` keeps both keys in 0600 files in the data directory; production sets
``WARMLINE_AUDIT_KEYS`` and ``WARMLINE_AUDIT_SIGNING_KEY`` from its secret store.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from runtime.key_ring import format_key_ring, new_key, parse_key_ring, read_or_create
from runtime.settings import Settings
from store.repository import Store
from warmline.audit import AuditKeyError, AuditKeyRing
from warmline.audit_checkpoint import key_fingerprint, public_key_bytes

AUDIT_KEY_BYTES = 32
AUDIT_KEYS_FILE = "audit-keys"
SIGNING_KEY_FILE = "audit-signing-key"


def load_audit_keys(settings: Settings) -> AuditKeyRing:
    if settings.audit_keys is not None:
        text = settings.audit_keys.get_secret_value()
    else:

        def create() -> str:
            key_id, key = new_key("audit", AUDIT_KEY_BYTES)
            return (
                "# Warmline audit keys: id:base64key, one per line; the first links.\n"
                f"{format_key_ring({key_id: key})}\n"
            )

        text = read_or_create(settings.data_dir / AUDIT_KEYS_FILE, create)
    return AuditKeyRing(
        parse_key_ring(text, what="audit", key_bytes=AUDIT_KEY_BYTES, error=AuditKeyError)
    )


def load_signing_key(settings: Settings) -> bytes:
    """The raw 32-byte Ed25519 private key that signs checkpoints."""
    if settings.audit_signing_key is not None:
        text = settings.audit_signing_key.get_secret_value()
    else:

        def create() -> str:
            raw = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            return base64.b64encode(raw).decode() + "\n"

        text = read_or_create(settings.data_dir / SIGNING_KEY_FILE, create)
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise AuditKeyError("the audit signing key is not valid base64") from None
    if len(key) != 32:
        raise AuditKeyError(f"the audit signing key is {len(key)} bytes; Ed25519 needs 32")
    return key


def trusted_public_keys(settings: Settings) -> dict[str, bytes]:
    """Checkpoint public keys by fingerprint: the configured ones, else the signing key's."""
    if settings.audit_public_keys:
        keys = [bytes.fromhex(text.strip()) for text in settings.audit_public_keys]
    else:
        keys = [public_key_bytes(load_signing_key(settings))]
    return {key_fingerprint(key): key for key in keys}


def open_store(settings: Settings) -> Store:
    """The store at the configured URL, migrated, with the audit key ring to link with."""
    return Store.from_url(settings.resolved_database_url, audit_keys=load_audit_keys(settings))

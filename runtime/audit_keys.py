"""The audit key ring and the checkpoint signing key, from settings (or the dev key files).

Every process that appends audit records (workers, the API, the CLI's direct store commands)
needs the HMAC key ring; only the process that takes checkpoints (the retention worker,
``warmline audit checkpoint create``) needs the Ed25519 signing key, and an auditor checking
checkpoints needs only the public key. Production sets ``WARMLINE_AUDIT_KEYS`` and
``WARMLINE_AUDIT_SIGNING_KEY`` from its secret store; ``warmline dev`` creates both as 0600 files
in the data directory (``ensure_local_audit_keys``), which commands run from that directory read.
Anything else without them refuses to start: a key invented by one process would link records
no other process can verify, and sign checkpoints no auditor trusts.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from runtime.key_ring import format_key_ring, new_key, parse_key_ring, read_or_create
from runtime.secret_files import MissingSecret, read_local
from runtime.settings import Settings
from store.repository import Store
from warmline.audit import AuditKeyError, AuditKeyRing
from warmline.audit_checkpoint import key_fingerprint, public_key_bytes

AUDIT_KEY_BYTES = 32
AUDIT_KEYS_FILE = "audit-keys"
SIGNING_KEY_FILE = "audit-signing-key"
AUDIT_KEYS_SETTING = "WARMLINE_AUDIT_KEYS"
SIGNING_KEY_SETTING = "WARMLINE_AUDIT_SIGNING_KEY"
PUBLIC_KEYS_SETTING = "WARMLINE_AUDIT_PUBLIC_KEYS"


def load_audit_keys(settings: Settings) -> AuditKeyRing:
    """``WARMLINE_AUDIT_KEYS``, else the embedded stack's file; never a new key."""
    if settings.audit_keys is not None:
        text = settings.audit_keys.get_secret_value()
    else:
        text = read_local(
            settings.data_dir / AUDIT_KEYS_FILE,
            what="audit key ring",
            setting=AUDIT_KEYS_SETTING,
            why="every worker, API and command of a deployment links the audit chain with it",
        )
    return AuditKeyRing(
        parse_key_ring(text, what="audit", key_bytes=AUDIT_KEY_BYTES, error=AuditKeyError)
    )


def load_signing_key(settings: Settings) -> bytes:
    """The raw 32-byte Ed25519 private key that signs checkpoints; never a new one."""
    if settings.audit_signing_key is not None:
        text = settings.audit_signing_key.get_secret_value()
    else:
        text = read_local(
            settings.data_dir / SIGNING_KEY_FILE,
            what="audit signing key",
            setting=SIGNING_KEY_SETTING,
            why="the retention workers sign audit checkpoints with it",
        )
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
        try:
            keys = [public_key_bytes(load_signing_key(settings))]
        except MissingSecret as exc:
            raise MissingSecret(
                "trusted checkpoint key",
                f"{PUBLIC_KEYS_SETTING} (or pass --public-key HEX)",
                settings.data_dir / SIGNING_KEY_FILE,
                "an auditor needs only the public half of the signing key",
            ) from exc
    return {key_fingerprint(key): key for key in keys}


def open_store(settings: Settings) -> Store:
    """The store at the configured URL, migrated, with the audit key ring to link with."""
    return Store.from_url(settings.resolved_database_url, audit_keys=load_audit_keys(settings))


def ensure_local_audit_keys(settings: Settings) -> None:
    """For the embedded stack only: create the key ring and signing key files (mode 0600)
    unless configured or already there, so a restart keeps verifying what it wrote."""
    if settings.audit_keys is None:

        def ring() -> str:
            key_id, key = new_key("audit", AUDIT_KEY_BYTES)
            return (
                "# Warmline audit keys: id:base64key, one per line; the first links.\n"
                f"{format_key_ring({key_id: key})}\n"
            )

        read_or_create(settings.data_dir / AUDIT_KEYS_FILE, ring)
    if settings.audit_signing_key is None:

        def signing_key() -> str:
            raw = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            return base64.b64encode(raw).decode() + "\n"

        read_or_create(settings.data_dir / SIGNING_KEY_FILE, signing_key)

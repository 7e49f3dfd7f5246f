"""Signed checkpoints of the audit chain: heads and counts of one id range, Ed25519-signed.

Why checkpoints on top of keyed links: a chain cannot show that its *last* records were
removed, nor that a whole stream vanished; and whoever holds the HMAC keys (the workers) could
rewrite a stream. A checkpoint signs, for the rows with ids in ``(after_id, through_id]``, how
many there were and each advanced stream's last link, and it chains to the previous checkpoint.
Exported and kept elsewhere, checkpoints pin the trail: anything removed or rewritten before
the latest one shows up, whoever did it.

Pure: the signing key is passed in as bytes; the store and the CLI decide where it lives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from models.audit import AuditFinding, Checkpoint, CheckpointBody
from warmline.audit import GENESIS_HASH, canonical_json

CHECKPOINTS_STREAM = "(checkpoints)"
"""How findings about the checkpoint sequence itself name their place."""


def head_line(stream: str, position: int, link: str) -> str:
    return f"{stream}\t{position}\t{link}"


def heads_digest(lines: Iterable[str]) -> str:
    """sha256 over the head lines in code-point order (independent of database collation)."""
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def signed_text(body: CheckpointBody) -> str:
    return canonical_json(body.model_dump(mode="json", include=set(CheckpointBody.model_fields)))


def checkpoint_digest(checkpoint: Checkpoint) -> str:
    """What the next checkpoint's ``prev_digest`` names: the body and its signature."""
    text = signed_text(checkpoint) + ":" + checkpoint.signature
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def public_key_bytes(private_key: bytes) -> bytes:
    key = Ed25519PrivateKey.from_private_bytes(private_key)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_fingerprint(public_key: bytes) -> str:
    return "ed25519-" + hashlib.sha256(public_key).hexdigest()[:16]


def sign_checkpoint(private_key: bytes, body: CheckpointBody) -> Checkpoint:
    key = Ed25519PrivateKey.from_private_bytes(private_key)
    signature = key.sign(signed_text(body).encode("utf-8")).hex()
    fingerprint = key_fingerprint(public_key_bytes(private_key))
    return Checkpoint(**body.model_dump(), key_id=fingerprint, signature=signature)


def signature_valid(public_key: bytes, checkpoint: Checkpoint) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            bytes.fromhex(checkpoint.signature), signed_text(checkpoint).encode("utf-8")
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def check_sequence(
    checkpoints: Sequence[Checkpoint],
    public_keys: dict[str, bytes],
    compacted_through: int | None,
) -> list[AuditFinding]:
    """Signatures, numbering and chaining of stored checkpoints, oldest first.

    ``compacted_through`` is the checkpoint a verified retention purge made the anchor: older
    ones are legitimately gone, so the first stored one may start there instead of at 1.
    """
    findings: list[AuditFinding] = []

    def bad(checkpoint: Checkpoint, problem: str) -> None:
        findings.append(
            AuditFinding(stream=CHECKPOINTS_STREAM, seq=checkpoint.seq, problem=problem)
        )

    previous: Checkpoint | None = None
    for checkpoint in checkpoints:
        key = public_keys.get(checkpoint.key_id)
        if key is None:
            bad(checkpoint, f"signed by unknown key {checkpoint.key_id}")
        elif not signature_valid(key, checkpoint):
            bad(checkpoint, "signature does not match its contents (altered)")
        if previous is None:
            if checkpoint.seq != 1 and checkpoint.seq != compacted_through:
                bad(checkpoint, f"checkpoints before {checkpoint.seq} are missing")
            elif checkpoint.seq == 1 and checkpoint.prev_digest != GENESIS_HASH:
                bad(checkpoint, "the first checkpoint does not start the sequence")
        else:
            if checkpoint.seq != previous.seq + 1:
                bad(checkpoint, f"checkpoint {previous.seq + 1} is missing")
            elif checkpoint.prev_digest != checkpoint_digest(previous):
                bad(checkpoint, f"does not follow checkpoint {previous.seq} (altered or replaced)")
            if checkpoint.after_id != previous.through_id:
                bad(checkpoint, f"range starts at {checkpoint.after_id}, not {previous.through_id}")
        previous = checkpoint
    return findings

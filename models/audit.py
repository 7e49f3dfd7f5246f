"""Audit chain contracts: signed checkpoints, what verification finds, and the export format.

A checkpoint is what an auditor keeps outside Warmline: an Ed25519 signature over the heads
(last link per stream) and counts of one id range of the audit table, chained to the previous
checkpoint. ``warmline audit checkpoint export`` writes ``CheckpointExport`` as JSON and
``warmline audit verify --checkpoints FILE`` reads it back.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckpointBody(_Doc):
    """Exactly what the signature covers (as canonical JSON)."""

    seq: int = Field(ge=1, description="1-based checkpoint number.")
    at: str = Field(description="ISO-8601 UTC time the checkpoint was taken.")
    after_id: int = Field(ge=0, description="Audit row ids above this are covered...")
    through_id: int = Field(ge=0, description="...up to and including this one.")
    records: int = Field(ge=0, description="Rows in (after_id, through_id] when signed.")
    streams: int = Field(ge=0, description="Streams that advanced in that range.")
    heads_digest: str = Field(description="sha256 of the sorted head lines of those streams.")
    prev_digest: str = Field(description="Digest of the previous checkpoint; genesis 0*64.")


class Checkpoint(CheckpointBody):
    key_id: str = Field(description="Fingerprint of the Ed25519 public key that signed.")
    signature: str = Field(description="Ed25519 signature (hex) over the canonical body.")


class CheckpointHead(_Doc):
    """The last link of one stream within a checkpoint's id range."""

    stream: str
    position: int
    hash: str


class SignedCheckpoint(Checkpoint):
    heads: list[CheckpointHead] = Field(default_factory=list)


class CheckpointExport(_Doc):
    """What ``warmline audit checkpoint export`` writes: keep it where the store's admins
    cannot change it."""

    format: str = "warmline-audit-checkpoints/1"
    public_keys: dict[str, str] = Field(
        default_factory=dict, description="Key id -> raw Ed25519 public key (hex)."
    )
    checkpoints: list[SignedCheckpoint] = Field(default_factory=list)


class AuditFinding(_Doc):
    """One reason the trail does not verify, naming the record where it shows."""

    stream: str
    position: int | None = None
    seq: int | None = None
    problem: str

    def describe(self) -> str:
        where = self.stream
        if self.position is not None:
            where += f" position {self.position}"
        if self.seq is not None:
            where += f" (seq {self.seq})"
        return f"{where}: {self.problem}"


class AuditVerifyReport(_Doc):
    ok: bool
    records: int = Field(description="Audit rows read.")
    streams: int
    checkpoints: int = Field(description="Stored checkpoints whose heads and counts were checked.")
    findings: list[AuditFinding] = Field(default_factory=list)
    seconds: float = 0.0

"""Retention contracts: the versioned policy, legal holds, and what a purge run plans and did.

The policy is data: per data class and per region (or regulation), how many days records are
kept. ``warmline retention policy set`` stores a version (audited); the ``warmline-retention``
Temporal Schedule runs ``RetentionWorkflow``, which plans from the active version
(``warmline.retention``) and deletes in bounded batches, skipping anything under legal hold.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.interaction import INTERACTION_ID_PATTERN

ANY_REGION = "*"
RETENTION_WORKFLOW = "RetentionWorkflow"
RETENTION_TASK_QUEUE = "retention"
RETENTION_SCHEDULE_ID = "warmline-retention"
MAX_HOLD_REASON_CHARS = 1000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataClass(StrEnum):
    """What a rule governs, and which tables that is (see README, "Retention")."""

    TRANSCRIPTS = "transcripts"
    """Turns archived before continue-as-new and shadow answers (redacted text)."""
    FACTS = "facts"
    """Interaction facts and their supervision records (reviews, overrides, QA)."""
    ARCHIVES = "archives"
    """Closing archives: whole transcript and decisions of a closed interaction."""
    AUDIT = "audit"
    """Audit chain records, purged in whole checkpointed segments."""


class RetentionRule(_Doc):
    data_class: DataClass
    region: str = Field(default=ANY_REGION, description="Customer region, or * for the rest.")
    regulation: str | None = Field(
        default=None, max_length=64, description="Why (e.g. GDPR, PCI-DSS): shown and audited."
    )
    keep_days: int = Field(ge=1, le=36_500)


class RetentionPolicy(_Doc):
    """Without a rule for a class (and region) nothing of it is ever purged."""

    version: int = Field(default=0, description="Assigned by the store when saved.")
    author: str = "system"
    created_at: str | None = None
    rules: list[RetentionRule] = Field(default_factory=list)
    batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Interactions (or audit rows) per delete."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RetentionPolicy:
        seen: dict[tuple[DataClass, str], int] = {}
        for rule in self.rules:
            key = (rule.data_class, rule.region)
            if key in seen:
                raise ValueError(f"two rules for {rule.data_class.value} in region {rule.region}")
            if rule.data_class is DataClass.AUDIT and rule.region != ANY_REGION:
                raise ValueError("audit records are purged by segment: their rule takes region *")
            seen[key] = rule.keep_days
        for (data_class, region), days in seen.items():
            if data_class is not DataClass.TRANSCRIPTS:
                continue
            facts = seen.get((DataClass.FACTS, region), seen.get((DataClass.FACTS, ANY_REGION)))
            if facts is not None and facts < days:
                raise ValueError(
                    f"facts of region {region} are kept {facts} days, transcripts {days}: "
                    "transcripts are found through their facts, keep facts at least as long"
                )
        return self


class LegalHold(_Doc):
    id: int
    interaction_id: str
    reason: str = Field(description="Redacted.")
    set_by: str
    set_at: str
    released_by: str | None = None
    released_at: str | None = None


class LegalHoldRequest(_Doc):
    """``POST /v1/retention/holds``: keep every record of an interaction until released."""

    interaction_id: str = Field(pattern=INTERACTION_ID_PATTERN)
    reason: str = Field(
        min_length=1,
        max_length=MAX_HOLD_REASON_CHARS,
        description="Why (a case number, a request); redacted before it is stored or audited.",
    )


class RetentionRunRequested(_Doc):
    """``POST /v1/retention/runs``: the Schedule was triggered, on whose request."""

    schedule_id: str
    requested_by: str


class PurgeStep(_Doc):
    """One (data class, region) to purge: records older than ``cutoff``."""

    data_class: DataClass
    region: str
    other_than: list[str] = Field(
        default_factory=list, description="For region *: regions that have their own rule."
    )
    cutoff: str = Field(description="ISO-8601 UTC: records from before this go.")
    keep_days: int
    regulation: str | None = None


class PurgeCount(_Doc):
    step: PurgeStep
    deleted: int = Field(description="Interactions (audit: records) removed.")
    held: int = Field(default=0, description="Interactions kept because of a legal hold.")


class RetentionPlan(_Doc):
    policy_version: int
    planned_at: str
    steps: list[PurgeStep] = Field(default_factory=list)
    batch_size: int = 500
    audit_anchor: int | None = Field(
        default=None, description="Checkpoint whose segment and earlier ones the audit step purges."
    )
    expected: list[PurgeCount] = Field(
        default_factory=list, description="Per step, what it would delete and what holds keep."
    )


class PurgeBatch(_Doc):
    step: PurgeStep
    limit: int = Field(ge=1)
    audit_anchor: int | None = None


class RetentionRunInput(_Doc):
    """``RetentionWorkflow`` input; empty from the schedule, carried on continue-as-new."""

    plan: RetentionPlan | None = None
    done: list[PurgeCount] = Field(default_factory=list)
    step_index: int = 0


class PlanRequest(_Doc):
    now: str = Field(description="ISO-8601 UTC: workflow time, so replays plan the same.")


class CompactRequest(_Doc):
    anchor: int
    run_id: str


class PurgeRecord(_Doc):
    """What the purge's own audit record says (``retention`` stream, ``purged``)."""

    run_id: str
    plan: RetentionPlan
    counts: list[PurgeCount]

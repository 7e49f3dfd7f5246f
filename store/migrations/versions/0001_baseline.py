"""Baseline: the schema of the release before migrations (main at e84c661).

Creates each table (and index) only if it is missing: a database that release made with
``create_all`` is adopted as it is, a new one is created whole. The tables are frozen here as
plain SQLAlchemy: later model changes belong in later revisions, never in this one.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _release_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "audit_events",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stream", "position", name="uq_audit_events_stream_position"),
        sa.UniqueConstraint("stream", "seq", name="uq_audit_events_stream_seq"),
    )
    sa.Table(
        "auto_rollback_outbox",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opening", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("opening"),
        sa.Index("ix_auto_rollback_outbox_pending", "done_at", "next_attempt_at"),
    )
    sa.Table(
        "fleet_breakers",
        metadata,
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("open_seconds", sa.Float(), nullable=False),
        sa.Column("probe_owner", sa.String(), nullable=True),
        sa.Column("probe_claimed_at", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("degradation", sa.Text(), nullable=True),
        sa.Column("outage_started_at", sa.Float(), nullable=True),
        sa.Column("recovered_at", sa.Float(), nullable=True),
        sa.Column("outage_history", sa.Text(), nullable=False),
        sa.Column("baseline_cps", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
    )
    sa.Table(
        "fleet_events",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_fleet_events_key", "key", unique=True),
    )
    sa.Table(
        "fleet_health_windows",
        metadata,
        sa.Column("worker_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("aggregate", sa.Text(), nullable=False),
        sa.Column("active_sessions", sa.Integer(), nullable=False),
        sa.Column("flushed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", "name", "version"),
        sa.Index("ix_fleet_health_windows_flushed_at", "flushed_at"),
    )
    sa.Table(
        "human_overrides",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ai_decision", sa.Text(), nullable=False),
        sa.Column("human_decision", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id", "seq", name="uq_human_overrides_seq"),
        sa.Index("ix_human_overrides_actor", "actor"),
    )
    sa.Table(
        "interaction_facts",
        metadata,
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("initial_channel", sa.String(), nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("pattern", sa.String(), nullable=False),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("pool", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("escalation_trigger", sa.String(), nullable=True),
        sa.Column("model_version", sa.String(), nullable=True),
        sa.Column("classifier_version", sa.String(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("ai_endpoint", sa.String(), nullable=True),
        sa.Column("human_queue", sa.String(), nullable=True),
        sa.Column("human_agent", sa.String(), nullable=True),
        sa.Column("started_at", sa.String(), nullable=False),
        sa.Column("ended_at", sa.String(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("ai_seconds", sa.Float(), nullable=False),
        sa.Column("queue_seconds", sa.Float(), nullable=False),
        sa.Column("human_seconds", sa.Float(), nullable=False),
        sa.Column("total_seconds", sa.Float(), nullable=False),
        sa.Column("ai_calls", sa.Integer(), nullable=False),
        sa.Column("ai_failures", sa.Integer(), nullable=False),
        sa.Column("ai_latency_ms_total", sa.Float(), nullable=False),
        sa.Column("ai_latency_ms_max", sa.Float(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("reservation_released", sa.Boolean(), nullable=False),
        sa.Column("saved_wait_seconds", sa.Float(), nullable=False),
        sa.Column("channel_switches", sa.Integer(), nullable=False),
        sa.Column("started_at_utc", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("interaction_id"),
        sa.Index("ix_interaction_facts_endpoint_started", "ai_endpoint", "started_at_utc"),
        sa.Index("ix_interaction_facts_started_at_utc", "started_at_utc"),
    )
    sa.Table(
        "qa_reviews",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("reviewer_id", sa.String(), nullable=False),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("resolved_correctly", sa.Boolean(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id"),
        sa.Index("ix_qa_reviews_intent_reviewed", "intent", "reviewed_at"),
    )
    sa.Table(
        "review_claims",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("draft_id", sa.String(), nullable=False),
        sa.Column("reviewer_id", sa.String(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reviewer_id", "slot", name="uq_review_claims_slot"),
        sa.UniqueConstraint("workflow_id", "draft_id", name="uq_review_claims_draft"),
    )
    sa.Table(
        "review_decisions",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("draft_id", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("reviewer_id", sa.String(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=True),
        sa.Column("turn", sa.Integer(), nullable=True),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("sent_text", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("trigger", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id", "draft_id", name="uq_review_decisions_draft"),
        sa.Index("ix_review_decisions_intent_decided", "intent", "decided_at"),
        sa.Index("ix_review_decisions_reviewer_id", "reviewer_id"),
    )
    sa.Table(
        "routing_configs",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_routing_configs_version", "version", unique=True),
    )
    sa.Table(
        "shadow_answers",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        sa.Column("live_model_version", sa.String(), nullable=False),
        sa.Column("live_text", sa.Text(), nullable=False),
        sa.Column("shadow_text", sa.Text(), nullable=True),
        sa.Column("shadow_action", sa.String(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id", "turn", "endpoint", name="uq_shadow_answer_turn"),
        sa.Index("ix_shadow_answers_endpoint", "endpoint"),
    )
    sa.Table(
        "supervision_facts",
        metadata,
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supervised_seconds", sa.Float(), nullable=False),
        sa.Column("drafts_held", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("review_wait_seconds", sa.Float(), nullable=False),
        sa.Column("triggers", sa.Text(), nullable=False),
        sa.Column("deadline_escalations", sa.Integer(), nullable=False),
        sa.Column("qa_sampled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("interaction_id"),
        sa.Index("ix_supervision_facts_intent_started", "intent", "started_at"),
    )
    sa.Table(
        "supervision_policies",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_key", sa.String(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_key"),
        sa.Index("ix_supervision_policies_version", "version", unique=True),
    )
    sa.Table(
        "transcript_archive",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.String(), nullable=False),
        sa.Column("run_index", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id", "run_index", name="uq_transcript_archive_run"),
    )
    sa.Table(
        "wfm_outbox",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.Index("ix_wfm_outbox_next_attempt_at", "next_attempt_at"),
    )


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    metadata = sa.MetaData()
    _release_tables(metadata)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        existing = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(bind)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not downgraded: restore a backup instead")

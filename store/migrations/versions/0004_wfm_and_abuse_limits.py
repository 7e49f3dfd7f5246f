"""WFM intervals, rollup state, alert state and staffing plan; abuse-limit counters; the facts
WFM plans by (queue, after-transfer time, when recorded) and the outbox's dead letter.

Facts stored before this revision get ``after_transfer_seconds`` 0 (unknown then) and
``recorded_at_utc`` = their start time, the best time they are known by.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SEGMENTS = ("ai", "queue", "human", "after_transfer")


def _interval_columns() -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("start_epoch", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("intent", sa.String(), nullable=False),
        sa.Column("pool", sa.String(), nullable=False),
    ]
    for name in ("offered", "handled", "abandoned", "deflected", "callbacks"):
        columns.append(sa.Column(name, sa.Integer(), nullable=False))
    columns += [
        sa.Column("contained", sa.Integer(), nullable=False),
        sa.Column("escalated", sa.Integer(), nullable=False),
    ]
    for segment in _SEGMENTS:
        columns += [
            sa.Column(f"{segment}_count", sa.Integer(), nullable=False),
            sa.Column(f"{segment}_sum", sa.Float(), nullable=False),
            sa.Column(f"{segment}_p50", sa.Float(), nullable=True),
            sa.Column(f"{segment}_p90", sa.Float(), nullable=True),
        ]
    columns += [
        sa.Column("csat_sum", sa.Integer(), nullable=False),
        sa.Column("csat_count", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
    ]
    return columns


def upgrade() -> None:
    op.create_table(
        "abuse_counters",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "window_start"),
    )
    op.create_index("ix_abuse_counters_expires_at", "abuse_counters", ["expires_at"])
    op.create_table(
        "wfm_alert_state",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "wfm_intervals",
        *_interval_columns(),
        sa.PrimaryKeyConstraint(
            "interval_minutes", "start_epoch", "queue", "channel", "intent", "pool"
        ),
    )
    op.create_index(
        "ix_wfm_intervals_minutes_start", "wfm_intervals", ["interval_minutes", "start_epoch"]
    )
    op.create_table(
        "wfm_rollup_state",
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intervals_last_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("interval_minutes"),
    )
    op.create_table(
        "wfm_staffing_plan",
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("start_epoch", sa.Integer(), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("planned_agents", sa.Integer(), nullable=False),
        sa.Column("planned_volume", sa.Float(), nullable=True),
        sa.Column("planned_aht_seconds", sa.Float(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue", "start_epoch"),
    )
    op.create_index("ix_wfm_staffing_plan_start", "wfm_staffing_plan", ["start_epoch"])

    op.add_column("interaction_facts", sa.Column("queue", sa.String(), nullable=True))
    op.add_column(
        "interaction_facts",
        sa.Column("after_transfer_seconds", sa.Float(), nullable=False, server_default="0"),
    )
    op.add_column(
        "interaction_facts", sa.Column("recorded_at_utc", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE interaction_facts SET recorded_at_utc = started_at_utc")
    with op.batch_alter_table("interaction_facts") as batch:
        batch.alter_column("after_transfer_seconds", server_default=None)
        batch.alter_column(
            "recorded_at_utc", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    op.create_index(
        "ix_interaction_facts_recorded_at_utc", "interaction_facts", ["recorded_at_utc"]
    )
    op.add_column("wfm_outbox", sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("wfm_outbox", "dead_at")
    op.drop_index("ix_interaction_facts_recorded_at_utc", table_name="interaction_facts")
    with op.batch_alter_table("interaction_facts") as batch:
        batch.drop_column("recorded_at_utc")
        batch.drop_column("after_transfer_seconds")
        batch.drop_column("queue")
    for name in (
        "wfm_staffing_plan",
        "wfm_rollup_state",
        "wfm_intervals",
        "wfm_alert_state",
        "abuse_counters",
    ):
        op.drop_table(name)

"""Routing proposals (thresholds and capability scores calibrated from outcomes, waiting for a
human's approval) and what a shadow answer cost (shadow versions judged).

Shadow answers stored before this revision get ``cost_usd`` 0 (unknown then).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_routing_proposals_status", "routing_proposals", ["status"])
    op.add_column(
        "shadow_answers", sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0")
    )
    with op.batch_alter_table("shadow_answers") as batch:
        batch.alter_column("cost_usd", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("shadow_answers") as batch:
        batch.drop_column("cost_usd")
    op.drop_index("ix_routing_proposals_status", table_name="routing_proposals")
    op.drop_table("routing_proposals")

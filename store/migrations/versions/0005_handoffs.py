"""AI-to-AI hand-offs: counted per interaction in the facts and per interval in the WFM
volume decomposition (interactions handed off, hand-offs).

Facts and intervals stored before this revision get 0: no interaction was handed off then.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("interaction_facts", "handoffs"),
    ("wfm_intervals", "handed_off"),
    ("wfm_intervals", "handoffs"),
)


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    for table in ("interaction_facts", "wfm_intervals"):
        with op.batch_alter_table(table) as batch:
            for name in (c for t, c in _COLUMNS if t == table):
                batch.alter_column(name, server_default=None)


def downgrade() -> None:
    for table in ("interaction_facts", "wfm_intervals"):
        with op.batch_alter_table(table) as batch:
            for name in (c for t, c in _COLUMNS if t == table):
                batch.drop_column(name)

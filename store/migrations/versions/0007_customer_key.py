"""Repeat contact: the facts record a pseudonymous customer key (HMAC of tenant and customer
id under the server secret, ``warmline.customers``), indexed with the start time so the
customer's next interaction is one index seek.

Facts stored before this revision get NULL: their customer is unknown, so calibration reports
their repeat contact as unknown rather than guessing.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEX = "ix_interaction_facts_customer_started"


def upgrade() -> None:
    op.add_column("interaction_facts", sa.Column("customer_key", sa.String(), nullable=True))
    op.create_index(_INDEX, "interaction_facts", ["customer_key", "started_at_utc"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="interaction_facts")
    with op.batch_alter_table("interaction_facts") as batch:
        batch.drop_column("customer_key")

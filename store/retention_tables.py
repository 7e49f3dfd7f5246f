"""Retention's own tables: policy versions and legal holds (see ``store.retention``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from store.tables import UTCDateTime

RETENTION_POLICIES = "retention_policies"
LEGAL_HOLDS = "legal_holds"


class RetentionPolicyRow(SQLModel, table=True):
    """One saved version of the retention policy document (appended, never updated)."""

    __tablename__ = RETENTION_POLICIES

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    author: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    document: str = Field(sa_type=Text, description="RetentionPolicy JSON, version set.")


class LegalHoldRow(SQLModel, table=True):
    """A hold on one interaction's records; active while ``released_at`` is empty."""

    __tablename__ = LEGAL_HOLDS

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: str = Field(index=True)
    reason: str = Field(sa_type=Text, description="Redacted before it is stored.")
    set_by: str
    set_at: datetime = Field(sa_type=UTCDateTime)
    released_by: str | None = None
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""Durable records beside Temporal: config versions, interaction facts, audit chains, archives.

SQLite file for the embedded stack, PostgreSQL (psycopg 3) in production; same schema and code.
"""

from store.audit_chain import StoredAuditEvent
from store.db import create_store_engine, init_schema
from store.repository import Store
from store.summary import DemoSummary, HandleTimes, summarize

__all__ = [
    "DemoSummary",
    "HandleTimes",
    "Store",
    "StoredAuditEvent",
    "create_store_engine",
    "init_schema",
    "summarize",
]

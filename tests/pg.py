"""PostgreSQL for tests: the URL to use, and a throwaway schema per test session.

Each session gets its own schema (``wl_test_<pid>_<random>``) selected through the connection's
``search_path``, so parallel runs, earlier crashed runs and other suites sharing the database
never see each other's rows. Integration tests reuse ``postgres_schema`` to hand workers a URL.

When PostgreSQL is unreachable the tests are skipped with the reason, except in CI (``CI`` set):
there the PostgreSQL path is the point of the run, so a missing server fails it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from store.db import normalize_url

POSTGRES_URL_ENV = "WARMLINE_TEST_POSTGRES_URL"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 5
DROP_LOCK_TIMEOUT = "10s"  # a leaked open transaction must not hang teardown forever


def postgres_test_url() -> str:
    """``$WARMLINE_TEST_POSTGRES_URL``, else the local trust-auth ``test`` database."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_TEST_POSTGRES_URL


def postgres_required() -> bool:
    """True in CI, where skipping the PostgreSQL tests would hide a broken backend."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _admin_url(base_url: str) -> URL:
    return normalize_url(base_url).update_query_dict(
        {"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)}
    )


def postgres_unavailable_reason(base_url: str | None = None) -> str | None:
    """Why PostgreSQL at ``base_url`` cannot be used, or None when a connection works."""
    url = base_url or postgres_test_url()
    engine = create_engine(_admin_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        shown = normalize_url(url).render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc
        first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause)
        return f"PostgreSQL unreachable at {shown} (set {POSTGRES_URL_ENV}): {first_line}"
    finally:
        engine.dispose()
    return None


def require_postgres(base_url: str | None = None) -> None:
    """Skip the calling test (fail it in CI) when PostgreSQL is not reachable."""
    reason = postgres_unavailable_reason(base_url)
    if reason is None:
        return
    if postgres_required():
        pytest.fail(f"{reason}; CI is set, so PostgreSQL tests must run", pytrace=False)
    pytest.skip(reason)


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` whose connections use ``schema`` (via libpq ``options=-csearch_path=...``)."""
    url = normalize_url(base_url)
    existing = url.query.get("options")
    options = f"-csearch_path={schema}"
    if isinstance(existing, str) and existing:
        options = f"{existing} {options}"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@contextmanager
def postgres_schema(base_url: str | None = None, prefix: str = "wl_test") -> Iterator[str]:
    """Create a fresh schema, yield a URL that uses it, drop it (CASCADE) afterwards.

    Dispose every engine made from the yielded URL before leaving the block: the drop waits
    for their open transactions (bounded by a lock timeout).
    """
    base = base_url or postgres_test_url()
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(_admin_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield schema_url(base, schema)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()

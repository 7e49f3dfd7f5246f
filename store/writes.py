"""Write transactions that retry whole when a concurrent writer won a race.

Why one place: every repository over the shared tables (interaction facts, audit streams,
routing and supervision versions, fleet health) has the same concurrency story. Constraints
and compare-and-set checks detect the lost race; the whole unit of work then runs again on a
fresh transaction, so it re-reads what the winner wrote and decides anew, with a short jittered
backoff so racing writers spread out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

T = TypeVar("T")

MAX_WRITE_ATTEMPTS = 30
"""Attempts of one write transaction before a conflict is reported to the caller."""
RETRY_BACKOFF_SECONDS = 0.01
"""Upper bound of the random pause before attempt ``n`` is ``n`` times this."""
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected


class WriteConflict(Exception):
    """Raised inside a write when a concurrent writer got there first in a way no constraint
    reports (a compare-and-set saw a changed row, a seq was taken); the attempt is retried."""


def is_conflict(exc: IntegrityError | OperationalError) -> bool:
    """True when another transaction won a race: a retry sees its result and acts on it."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def write_with_retry(
    writer: Engine, work: Callable[[Session], T], info: Mapping[str, Any] | None = None
) -> T:
    """Run ``work`` in one write transaction, retrying it whole when a concurrent writer won.

    ``info`` is put on the session (the store's audit key ring travels that way).
    """
    for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
        try:
            with Session(writer, info=dict(info or {})) as session:
                result = work(session)
                session.commit()
                return result
        except (IntegrityError, OperationalError) as exc:
            if attempt == MAX_WRITE_ATTEMPTS or not is_conflict(exc):
                raise
        except WriteConflict:
            if attempt == MAX_WRITE_ATTEMPTS:
                raise
        time.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * attempt))
    raise AssertionError("unreachable: the last attempt returns or raises")

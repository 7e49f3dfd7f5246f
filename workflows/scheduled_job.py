"""What the short, Schedule-started jobs share (the WFM interval rollup, routing calibration):
one activity that recomputes from the facts, so a failed run is simply retried a few times and a
bad request fails at once; the next scheduled run covers anything a run gave up on."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

JOB_TIMEOUT = timedelta(minutes=10)
"""A full recomputation over months of facts on PostgreSQL; an incremental run takes seconds."""
JOB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["InvalidInput"],
)

"""The API's Temporal client, and Temporal's refusals as HTTP answers.

The API is the only Warmline edge that holds a Temporal client and the payload key ring for
human-facing actions (the CLI acts through the API). ``warmline api`` connects on first use, so
the API starts, answers health checks and authenticates while Temporal is still coming up; a call
that needs Temporal then gets 503, not a hang. Queries carry a timeout: a workflow no worker
answers for gives 504 instead of holding the request open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from runtime.settings import Settings
from runtime.temporal_client import connect

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 10.0
QUERY_TIMEOUT = timedelta(seconds=10)
MAX_RESULT_WAIT_SECONDS = 30.0
"""Longest a ``.../result`` request waits for a workflow to end before answering "running"."""


class TemporalAccess:
    """One client for the API process: given (embedded stack), or connected on first use."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self._settings), CONNECT_TIMEOUT_SECONDS
                    )
                except (TimeoutError, RuntimeError, OSError) as exc:
                    raise ApiError(
                        503, f"Temporal at {self._settings.temporal_address} unreachable: {exc}"
                    ) from None
            return self._client


_STATUS = {
    RPCStatusCode.NOT_FOUND: 404,
    RPCStatusCode.ALREADY_EXISTS: 409,
    RPCStatusCode.FAILED_PRECONDITION: 409,
    RPCStatusCode.INVALID_ARGUMENT: 422,
    RPCStatusCode.DEADLINE_EXCEEDED: 504,
    RPCStatusCode.UNAVAILABLE: 503,
}


@contextlib.contextmanager
def temporal_errors(workflow_id: str) -> Iterator[None]:
    """Temporal's answers about ``workflow_id`` as HTTP refusals with the reason."""
    try:
        yield
    except WorkflowAlreadyStartedError:
        raise ApiError(409, f"{workflow_id} is already running") from None
    except WorkflowQueryFailedError as exc:
        raise ApiError(409, f"{workflow_id} refused the query: {exc}") from None
    except WorkflowFailureError as exc:
        raise ApiError(409, f"{workflow_id} failed: {exc.cause}") from None
    except RPCError as exc:
        status = _STATUS.get(exc.status, 502)
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise ApiError(404, f"{workflow_id} not found: {exc.message}") from None
        raise ApiError(status, f"Temporal: {exc.message}") from None


async def query_status(handle: WorkflowHandle[Any, Any], result_type: type[T]) -> T:
    """The workflow's ``status`` query, bounded by ``QUERY_TIMEOUT``."""
    with temporal_errors(handle.id):
        result: T = await handle.query("status", result_type=result_type, rpc_timeout=QUERY_TIMEOUT)
        return result


async def result_within(awaitable: Awaitable[T], seconds: float) -> T | None:
    """The workflow's result if it ends within ``seconds`` (capped), else None (still running)."""
    try:
        return await asyncio.wait_for(awaitable, min(max(seconds, 0.0), MAX_RESULT_WAIT_SECONDS))
    except TimeoutError:
        return None

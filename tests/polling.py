"""Waiting for a condition another task or process makes true: polled, with a deadline.

Tests use this instead of sleeps: it returns as soon as the condition holds, and fails with
what it waited for when the deadline passes.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

POLL_INTERVAL_SECONDS = 0.05


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], what: str = ..., timeout: float = ...
) -> T: ...
@overload
async def eventually(check: Callable[[], T], what: str = ..., timeout: float = ...) -> T: ...
async def eventually(
    check: Callable[[], Any], what: str = "condition", timeout: float = 30.0
) -> Any:
    """The first truthy result of ``check()`` (sync or awaitable)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


async def until(
    read: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    what: str,
    timeout: float = 30.0,
) -> T:
    """The first value ``read()`` gives that ``accept`` takes."""

    async def accepted() -> tuple[T] | None:
        value = await read()
        return (value,) if accept(value) else None

    found = await eventually(accepted, what, timeout)
    assert found is not None  # eventually returns only a truthy result
    return found[0]

"""A Signaler that records what the simulated ACD sends, for tests of the ACD and its apps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

WAIT = 5.0  # generous bound on every await; the happy path takes milliseconds


@dataclass
class RecordingSignaler:
    """In-memory Signaler; tests wait on its condition instead of sleeping."""

    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    refuse_first: int = 0
    """Refuse (UNAVAILABLE, as Temporal restarting) the first attempts of each signal."""
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (signal, request id)

    async def signal(
        self, workflow_id: str, signal: str, payload: dict[str, Any], request_id: str
    ) -> None:
        async with self.changed:
            self.attempts.append((signal, request_id))
            if sum(1 for name, _ in self.attempts if name == signal) <= self.refuse_first:
                self.changed.notify_all()
                raise RPCError("frontend restarting", RPCStatusCode.UNAVAILABLE, b"")
            self.sent.append((workflow_id, signal, payload))
            self.changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[list[tuple[str, str, dict[str, Any]]]], bool]
    ) -> None:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: predicate(self.sent))

    def named(self, signal: str) -> list[tuple[str, dict[str, Any]]]:
        return [(wf, payload) for wf, name, payload in self.sent if name == signal]

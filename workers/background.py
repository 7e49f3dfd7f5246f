"""A worker plugin that runs a process's background tasks for exactly as long as the worker.

The health sync (``workers.health``) and the WFM event pump, schedule and census
(``workers.wfm``) start with their worker and stop with it, in ``warmline worker``, ``warmline
dev`` and the test stacks alike, so they never outlive the store or the client they use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Plugin,
    Replayer,
    ReplayerConfig,
    Worker,
    WorkerConfig,
    WorkflowReplayResult,
)

Task = Callable[[Worker], Coroutine[Any, Any, None]]


class BackgroundTasks(Plugin):
    """Runs ``tasks(worker)`` beside the worker; cancels and awaits them when it stops."""

    def __init__(self, *tasks: Task, task_name: str = "warmline-background") -> None:
        self.tasks = tasks
        self.task_name = task_name

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        return config

    async def run_worker(self, worker: Worker, next: Callable[[Worker], Awaitable[None]]) -> None:
        running = [asyncio.create_task(task(worker), name=self.task_name) for task in self.tasks]
        try:
            await next(worker)
        finally:
            for task in running:
                task.cancel()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        return config

    def run_replayer(
        self,
        replayer: Replayer,
        histories: AsyncIterator[WorkflowHistory],
        next: Callable[
            [Replayer, AsyncIterator[WorkflowHistory]],
            AbstractAsyncContextManager[AsyncIterator[WorkflowReplayResult]],
        ],
    ) -> AbstractAsyncContextManager[AsyncIterator[WorkflowReplayResult]]:
        return next(replayer, histories)

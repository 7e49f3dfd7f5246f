"""Bare Temporal baselines for the throughput benchmark, in their own module so the workflow
sandbox re-imports nothing but these few lines."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def bare_activity(value: int) -> int:
    return value + 1


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            bare_activity, value, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn(sandboxed=False)
class BareUnsandboxedWorkflow:
    """The same, outside the sandbox as ``InteractionWorkflow`` runs: the stricter baseline."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            bare_activity, value, start_to_close_timeout=timedelta(seconds=10)
        )


@workflow.defn
class BareUpdateWorkflow:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())

    @workflow.update
    async def turn(self, value: int) -> int:
        return await workflow.execute_local_activity(
            bare_activity, value, start_to_close_timeout=timedelta(seconds=10)
        )

    @workflow.signal
    def finish(self) -> None:
        self.done = True

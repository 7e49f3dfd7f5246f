"""Starting a ``RollbackWorkflow`` from any Temporal client: the health monitor, the CLI, tests.

Client side only (by workflow name), so starting a rollback needs no worker code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio.client import Client, WorkflowHandle

from models.fleet import (
    FLEET_TASK_QUEUE,
    ROLLBACK_WORKFLOW,
    RollbackInput,
    RollbackState,
    rollback_workflow_id_for,
)


async def start_rollback(
    client: Client, request: RollbackInput, memo: Mapping[str, Any] | None = None
) -> WorkflowHandle[Any, RollbackState]:
    """How the health monitor (or any Temporal client) asks for a rollback.

    One rollback per agent at a time: the id is ``rollback-<agent>`` (``rollback-all`` for a
    failover of every agent), and Temporal refuses a second while the first runs. ``memo``
    (the health monitor's: which breaker opening it answers) is not workflow input, so it
    changes nothing the workflow does or replays.
    """
    return await client.start_workflow(
        ROLLBACK_WORKFLOW,
        request,
        id=rollback_workflow_id_for(request),
        task_queue=FLEET_TASK_QUEUE,
        result_type=RollbackState,
        memo=memo,
    )

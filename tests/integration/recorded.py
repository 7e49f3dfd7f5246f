"""Saving a workflow's history, decrypted, as a replay fixture when a test run is asked to."""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory

from runtime.history import decode_payloads_in_place


async def save_history(client: Client, workflow_id: str, name: str, env: str) -> None:
    """Write ``<$env>/<name>.json`` when the variable ``env`` names a folder; else nothing."""
    out = os.environ.get(env)
    if not out:
        return
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    proto = History(events=history.events)
    codec = client.data_converter.payload_codec
    if codec is not None:
        await decode_payloads_in_place(proto, codec)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / f"{name}.json").write_text(WorkflowHistory(workflow_id, proto.events).to_json())

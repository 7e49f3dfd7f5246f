"""``warmline corpus``: record a release's workflow histories, replay them on new code.

At release time, run the release's scenarios on a non-production stack (customer data never
belongs in the repository), then ``warmline corpus record tests/replay/previous_release``: it
saves closed histories of every Warmline workflow type, decrypted so they replay without a
key, with a manifest naming the release. The next release's test command replays them
(``tests/replay/test_previous_release.py``); ``warmline corpus replay DIR`` does the same by hand.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory

from runtime.history import decode_payloads_in_place
from runtime.settings import load_settings
from runtime.temporal_client import connect
from workers.replay import (
    MANIFEST,
    WORKFLOW_TYPES,
    corpus_file_name,
    load_corpus,
    replay_histories,
)

app = typer.Typer(help="Record and replay workflow history corpora.", no_args_is_help=True)
console = Console()


async def decrypted(client: Client, history: WorkflowHistory) -> WorkflowHistory:
    codec = client.data_converter.payload_codec
    if codec is None:
        return history
    proto = History(events=history.events)
    await decode_payloads_in_place(proto, codec)
    return WorkflowHistory(history.workflow_id, proto.events)


async def record_corpus(client: Client, out: Path, per_type: int) -> dict[str, int]:
    """Save up to ``per_type`` closed histories of each Warmline workflow type under ``out``
    (replacing what was there) and write the manifest; returns the count per type."""
    if out.exists():
        shutil.rmtree(out)
    counts: dict[str, int] = {}
    for workflow_type in WORKFLOW_TYPES:
        folder = out / workflow_type
        query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus != 'Running'"
        async for execution in client.list_workflows(query, limit=per_type):
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            history = await decrypted(client, await handle.fetch_history())
            folder.mkdir(parents=True, exist_ok=True)
            name = corpus_file_name(execution.id, execution.run_id)
            (folder / name).write_text(history.to_json(), encoding="utf-8")
            counts[workflow_type] = counts.get(workflow_type, 0) + 1
    manifest: dict[str, Any] = {
        "release": version("warmline"),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "histories": counts,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts


@app.command("record")
def record(
    out: Annotated[Path, typer.Argument(help="Corpus directory (replaced).")],
    per_type: Annotated[int, typer.Option(min=1, help="Histories per workflow type.")] = 12,
) -> None:
    """Save closed histories of every workflow type from the configured Temporal namespace."""

    async def main() -> dict[str, int]:
        return await record_corpus(await connect(load_settings()), out, per_type)

    counts = asyncio.run(main())
    for workflow_type in WORKFLOW_TYPES:
        console.print(f"{workflow_type}: {counts.get(workflow_type, 0)}")
    missing = [t for t in WORKFLOW_TYPES if not counts.get(t)]
    if missing:
        console.print(f"[yellow]no closed histories of {', '.join(missing)}[/yellow]")


@app.command("replay")
def replay(directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)]) -> None:
    """Replay a corpus on today's workflow code; exit 1 on any non-determinism."""
    outcome = asyncio.run(replay_histories(load_corpus(directory)))
    for workflow_type, count in sorted(outcome.replayed.items()):
        console.print(f"{workflow_type}: {count} replayed")
    for name, error in outcome.failures.items():
        console.print(f"[red]{name}[/red]: {error}")
    if outcome.failures or not outcome.replayed:
        raise typer.Exit(1)

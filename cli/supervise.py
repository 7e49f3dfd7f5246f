"""``warmline supervise``: the supervisor's worklist and decisions, QA, and supervision phases.

Thin Typer wrappers over ``cli.supervise_ops`` (where the cap and the queries are explained).
Every decision is a Temporal signal, so the same can be done with the plain ``temporal`` CLI
(see README); this command adds the supervisor's concurrent cap and readable output.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from temporalio.client import Client
from temporalio.service import RPCError

from cli import supervise_ops as ops
from models.supervision_phase import (
    NewModelVersion,
    SignOff,
    SignOffDecision,
    SupervisionPhaseInput,
)
from runtime.audit_keys import open_store
from runtime.settings import load_settings
from runtime.temporal_client import connect
from store.repository import Store

app = typer.Typer(help="Supervisor worklist, review decisions, QA and supervision phases.")
console = Console()
T = TypeVar("T")

Target = Annotated[str, typer.Argument(help="Interaction id (or its workflow id).")]
Reviewer = Annotated[str, typer.Option("--reviewer", help="Your supervisor id (audited).")]
Draft = Annotated[
    str | None, typer.Option("--draft", help="Draft id; default: the one the interaction holds.")
]
Channel = Annotated[str | None, typer.Option(help="Channel, for an intent x channel phase.")]


def _run(work: Callable[[Client, Store], Awaitable[T]], *, needs_client: bool = True) -> T:
    """Connect, run, and turn refusals and bad input into one readable line and exit 1."""
    settings = load_settings()
    store = open_store(settings)

    async def main() -> T:
        client = await connect(settings) if needs_client else None
        return await work(client, store)  # type: ignore[arg-type]

    try:
        return asyncio.run(main())
    except (ops.SuperviseError, ValidationError, RPCError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        store.close()


@app.command("list")
def list_pending(
    intent: Annotated[str | None, typer.Option(help="Only this intent.")] = None,
    mode: Annotated[str | None, typer.Option(help="Only this supervision mode.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pending reviews, oldest wait first, with who holds each."""
    items = _run(lambda c, s: ops.pending_reviews(c, s, intent, mode, limit))
    now = datetime.now(UTC)
    if as_json:
        rows = [
            {
                "workflow_id": i.workflow_id,
                "intent": i.intent,
                "mode": i.mode,
                "since": i.since.isoformat() if i.since else None,
                "held_by": i.held_by,
            }
            for i in items
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table("workflow", "intent", "mode", "waiting", "held by")
    for item in items:
        waited = item.waited_seconds(now)
        table.add_row(
            item.workflow_id,
            item.intent or "-",
            item.mode or "-",
            f"{waited:.0f}s" if waited is not None else "-",
            item.held_by or "",
        )
    console.print(table if items else "no pending reviews")


@app.command()
def show(target: Target) -> None:
    """The interaction's ``status`` (transcript, decisions, the held draft) as JSON."""
    status = _run(lambda c, s: ops.interaction_status(c, target))
    print(json.dumps(status, indent=2, default=str))


@app.command()
def claim(target: Target, reviewer: Reviewer, draft: Draft = None) -> None:
    """Hold a pending review (counts against your concurrent cap) before deciding it."""
    draft_id = _run(lambda c, s: ops.claim(c, s, target, reviewer, draft))
    console.print(f"{reviewer} holds draft {draft_id} of {ops.workflow_id_for(target)}")


@app.command()
def release(target: Target, reviewer: Reviewer) -> None:
    """Give a held review back to the worklist."""
    count = _run(lambda c, s: ops.release(s, target, reviewer), needs_client=False)
    console.print(f"released {count} hold(s)")


@app.command()
def load(reviewer: Reviewer) -> None:
    """Reviews you hold now, against your cap."""

    async def work(_: Client, store: Store) -> tuple[int, int]:
        held = await asyncio.to_thread(store.review_claims, reviewer)
        cap = (await asyncio.to_thread(ops.active_policy, store)).supervisor_concurrent_cap
        return len(held), cap

    held, cap = _run(work, needs_client=False)
    console.print(f"{reviewer}: {held}/{cap} reviews held")


def _decide(target: str, reviewer: str, decision: str, **fields: Any) -> None:
    response = _run(lambda c, s: ops.decide(c, s, target, reviewer, decision, **fields))
    console.print(f"{decision} sent for draft {response.draft_id} of {ops.workflow_id_for(target)}")


@app.command()
def approve(
    target: Target,
    reviewer: Reviewer,
    draft: Draft = None,
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Send the held draft to the customer as written."""
    _decide(target, reviewer, "approve", draft=draft, reason=reason)


@app.command()
def edit(
    target: Target,
    reviewer: Reviewer,
    text: Annotated[str, typer.Option("--text", help="What the customer gets instead.")],
    draft: Draft = None,
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Send your text instead of the draft."""
    _decide(target, reviewer, "edit", draft=draft, text=text, reason=reason)


@app.command()
def reject(
    target: Target,
    reviewer: Reviewer,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    draft: Draft = None,
) -> None:
    """Withhold the draft; the interaction escalates to a human."""
    _decide(target, reviewer, "reject", draft=draft, reason=reason)


@app.command()
def qa(
    interaction_id: Annotated[str, typer.Argument(help="A closed interaction's id.")],
    reviewer: Reviewer,
    correct: Annotated[bool, typer.Option("--correct/--incorrect", help="Resolved correctly?")],
    notes: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a post-interaction QA review (evidence for the maturity phase)."""
    new = _run(
        lambda c, s: ops.record_qa(s, interaction_id, reviewer, correct, notes), needs_client=False
    )
    console.print("recorded" if new else "already QA-reviewed (first review kept)")


@app.command()
def volume(
    hours: Annotated[float, typer.Option(min=0.01, help="Window ending now.")] = 24.0,
    intent: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Supervision queue volume and the supervisors it implies (WFM)."""
    until = datetime.now(UTC)
    result = _run(
        lambda c, s: asyncio.to_thread(
            s.supervision_volume, until - timedelta(hours=hours), until, intent
        ),
        needs_client=False,
    )
    print(result.model_dump_json(indent=2))


@app.command("phase-start")
def phase_start(
    intent: str,
    channel: Channel = None,
    model_version: Annotated[str | None, typer.Option()] = None,
    interval_hours: Annotated[float, typer.Option(min=0.01)] = 24.0,
    sign_off_days: Annotated[float, typer.Option(min=0.01)] = 7.0,
) -> None:
    """Start the phase workflow of an intent (it begins in pilot: fully supervised)."""
    start = SupervisionPhaseInput(
        intent=intent,
        channel=channel,
        model_version=model_version,
        evaluation_interval_seconds=interval_hours * 3600,
        sign_off_deadline_seconds=sign_off_days * 86400,
    )
    console.print(f"started {_run(lambda c, s: ops.start_phase(c, start))}")


@app.command("phase-status")
def phase_status(intent: str, channel: Channel = None) -> None:
    """Phase, pending proposal, last evidence and verdict of an intent."""
    print(json.dumps(_run(lambda c, s: ops.phase_status(c, intent, channel)), indent=2))


@app.command("sign-off")
def sign_off(
    intent: str,
    approver: Annotated[str, typer.Option(help="Who signs (audited).")],
    refuse: Annotated[bool, typer.Option("--refuse", help="Refuse instead of approve.")] = False,
    reason: Annotated[str, typer.Option()] = "",
    channel: Channel = None,
) -> None:
    """Approve (or refuse) the pending promotion of an intent."""
    decision = SignOffDecision.REFUSE if refuse else SignOffDecision.APPROVE
    body = SignOff(approver=approver, decision=decision, reason=reason)
    _run(lambda c, s: ops.sign_off(c, intent, channel, body))
    console.print(f"{body.decision.value} sent for {intent}")


@app.command("new-model")
def new_model(
    intent: str,
    version: Annotated[str, typer.Option(help="The model version now answering the intent.")],
    channel: Channel = None,
) -> None:
    """Tell the phase workflow the intent's AI changed: it starts in pilot again."""
    _run(lambda c, s: ops.new_model(c, intent, channel, NewModelVersion(version=version)))
    console.print(f"{intent}: model version {version} announced")

"""``warmline supervise``: the supervisor's worklist and decisions, QA, and supervision phases.

Thin Typer wrappers over the API's review and phase routes (``api.reviews``, ``api.phases``;
the cap and the worklist query are explained in ``api.review_ops``). You are the reviewer or
approver your token says you are: there is no option to decide in someone else's name. Every
decision is a Temporal signal, so the same can be done with the plain ``temporal`` CLI (see
README), without the cap and with a typed-in reviewer id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.api_client import call
from models.commands import ClaimRequest, QARequest, ReviewRequest
from models.supervision import ReviewDecision
from models.supervision_phase import (
    NewModelVersion,
    PhaseStart,
    SignOffAnswer,
    SignOffDecision,
)

app = typer.Typer(help="Supervisor worklist, review decisions, QA and supervision phases.")
console = Console()

Target = Annotated[str, typer.Argument(help="Interaction id (or its workflow id).")]
Draft = Annotated[
    str | None, typer.Option("--draft", help="Draft id; default: the one the interaction holds.")
]
Channel = Annotated[str | None, typer.Option(help="Channel, for an intent x channel phase.")]
PHASES = "/v1/supervision/phases"


@app.command("list")
def list_pending(
    intent: Annotated[str | None, typer.Option(help="Only this intent.")] = None,
    mode: Annotated[str | None, typer.Option(help="Only this supervision mode.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pending reviews, oldest wait first, with who holds each."""
    rows: list[dict[str, Any]] = call(
        lambda api: api.get("/v1/reviews", intent=intent, mode=mode, limit=limit)
    )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    now = datetime.now(UTC)
    table = Table("workflow", "intent", "mode", "waiting", "held by")
    for row in rows:
        since = datetime.fromisoformat(row["since"]) if row["since"] else None
        table.add_row(
            row["workflow_id"],
            row["intent"] or "-",
            row["mode"] or "-",
            f"{(now - since).total_seconds():.0f}s" if since else "-",
            row["held_by"] or "",
        )
    console.print(table if rows else "no pending reviews")


@app.command()
def show(target: Target) -> None:
    """The interaction's ``status`` (transcript, decisions, the held draft) as JSON (audited)."""
    status = call(lambda api: api.get(f"/v1/interactions/{target}/status"))
    print(json.dumps(status, indent=2, default=str))


@app.command()
def claim(target: Target, draft: Draft = None) -> None:
    """Hold a pending review (counts against your concurrent cap) before deciding it."""
    body = ClaimRequest(draft_id=draft).model_dump(mode="json")
    held = call(lambda api: api.post(f"/v1/reviews/{target}/claim", body))
    console.print(f"you hold draft {held['draft_id']} of {held['workflow_id']}")


@app.command()
def release(target: Target) -> None:
    """Give your hold on a review back to the worklist."""
    released = call(lambda api: api.post(f"/v1/reviews/{target}/release"))
    console.print(f"released {released['released']} hold(s)")


@app.command()
def load() -> None:
    """Reviews you hold now, against your cap."""
    held = call(lambda api: api.get("/v1/reviews/held"))
    console.print(f"{held['reviewer']}: {len(held['held'])}/{held['cap']} reviews held")


def _decide(target: str, request: ReviewRequest) -> None:
    body = request.model_dump(mode="json")
    decided = call(lambda api: api.post(f"/v1/reviews/{target}/decision", body))
    console.print(f"{decided['decision']} sent for draft {decided['draft_id']} of {target}")


@app.command()
def approve(
    target: Target,
    draft: Draft = None,
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Send the held draft to the customer as written."""
    _decide(target, ReviewRequest(decision=ReviewDecision.APPROVE, draft_id=draft, reason=reason))


@app.command()
def edit(
    target: Target,
    text: Annotated[str, typer.Option("--text", help="What the customer gets instead.")],
    draft: Draft = None,
    reason: Annotated[str | None, typer.Option(help="Why (audited).")] = None,
) -> None:
    """Send your text instead of the draft."""
    request = ReviewRequest(
        decision=ReviewDecision.EDIT, draft_id=draft, edited_text=text, reason=reason
    )
    _decide(target, request)


@app.command()
def reject(
    target: Target,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    draft: Draft = None,
) -> None:
    """Withhold the draft; the interaction escalates to a human."""
    _decide(target, ReviewRequest(decision=ReviewDecision.REJECT, draft_id=draft, reason=reason))


@app.command()
def qa(
    interaction_id: Annotated[str, typer.Argument(help="A closed interaction's id.")],
    correct: Annotated[bool, typer.Option("--correct/--incorrect", help="Resolved correctly?")],
    notes: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a post-interaction QA review (evidence for the maturity phase)."""
    body = QARequest(interaction_id=interaction_id, resolved_correctly=correct, notes=notes)
    recorded = call(lambda api: api.post("/v1/qa-reviews", body.model_dump(mode="json")))
    console.print("recorded" if recorded["recorded"] else "already QA-reviewed (first review kept)")


@app.command()
def volume(
    hours: Annotated[float, typer.Option(min=0.01, help="Window ending now.")] = 24.0,
    intent: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Supervision queue volume and the supervisors it implies (WFM)."""
    result = call(lambda api: api.get("/v1/supervision/volume", hours=hours, intent=intent))
    print(json.dumps(result, indent=2))


@app.command("phase-start")
def phase_start(
    intent: str,
    channel: Channel = None,
    model_version: Annotated[str | None, typer.Option()] = None,
    interval_hours: Annotated[float, typer.Option(min=0.01)] = 24.0,
    sign_off_days: Annotated[float, typer.Option(min=0.01)] = 7.0,
) -> None:
    """Start the phase workflow of an intent (it begins in pilot: fully supervised)."""
    start = PhaseStart(
        intent=intent,
        channel=channel,
        model_version=model_version,
        evaluation_interval_seconds=interval_hours * 3600,
        sign_off_deadline_seconds=sign_off_days * 86400,
    )
    started = call(lambda api: api.post(PHASES, start.model_dump(mode="json")))
    console.print(f"started {started['workflow_id']}")


@app.command("phase-status")
def phase_status(intent: str, channel: Channel = None) -> None:
    """Phase, pending proposal, last evidence and verdict of an intent."""
    status = call(lambda api: api.get(f"{PHASES}/{intent}", channel=channel))
    print(json.dumps(status, indent=2))


@app.command("sign-off")
def sign_off(
    intent: str,
    refuse: Annotated[bool, typer.Option("--refuse", help="Refuse instead of approve.")] = False,
    reason: Annotated[str, typer.Option()] = "",
    channel: Channel = None,
) -> None:
    """Approve (or refuse) the pending promotion of an intent, as yourself."""
    decision = SignOffDecision.REFUSE if refuse else SignOffDecision.APPROVE
    body = SignOffAnswer(decision=decision, reason=reason).model_dump(mode="json")
    sent = call(lambda api: api.post(f"{PHASES}/{intent}/sign-off", body, channel=channel))
    console.print(f"{sent['sent']} sent for {intent}")


@app.command("new-model")
def new_model(
    intent: str,
    version: Annotated[str, typer.Option(help="The model version now answering the intent.")],
    channel: Channel = None,
) -> None:
    """Tell the phase workflow the intent's AI changed: it starts in pilot again."""
    body = NewModelVersion(version=version).model_dump(mode="json")
    call(lambda api: api.post(f"{PHASES}/{intent}/new-model", body, channel=channel))
    console.print(f"{intent}: model version {version} announced")

"""``warmline retention``: the retention policy, legal holds, and what the next run deletes.

Every command but ``schedule`` acts through the API with a token (``cli.api_client``), as the
token's identity: ``policy set`` and ``run`` need ``retention_change`` (admin), ``hold set`` and
``hold release`` need ``legal_hold`` (auditor), the rest ``retention_read`` (either). The store
audits every change on the ``retention`` stream. ``schedule`` creates or retimes the
``warmline-retention`` Temporal Schedule directly: a deploy step, like ``warmline setup``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from cli.api_client import call
from models.retention import (
    RETENTION_SCHEDULE_ID,
    LegalHold,
    LegalHoldRequest,
    RetentionPlan,
    RetentionPolicy,
)
from runtime.schedules import ensure_retention_schedule
from runtime.settings import load_settings
from runtime.temporal_client import connect

app = typer.Typer(help="Retention policy, legal holds and purges.", no_args_is_help=True)
policy_app = typer.Typer(help="The versioned retention policy.", no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds on interactions.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(hold_app, name="hold")
console = Console()


@policy_app.command("set")
def policy_set(file: Annotated[Path, typer.Argument(exists=True, readable=True)]) -> None:
    """Store a retention policy document (JSON) as the next version, authored by you."""
    try:
        policy = RetentionPolicy.model_validate_json(file.read_text())
    except ValidationError as exc:
        raise typer.BadParameter(f"{file}: {exc}") from None
    body = policy.model_dump(mode="json", include={"rules", "batch_size"})
    saved = RetentionPolicy.model_validate(call(lambda api: api.post("/v1/retention/policy", body)))
    console.print(f"stored retention policy v{saved.version} by {saved.author}")


@policy_app.command("show")
def policy_show() -> None:
    """Print the active retention policy (version 0: nothing is purged)."""
    print(json.dumps(call(lambda api: api.get("/v1/retention/policy")), indent=2))


@hold_app.command("set")
def hold_set(
    interaction: Annotated[str, typer.Option(help="Interaction id to keep.")],
    reason: Annotated[str, typer.Option(help="Why (redacted before it is stored).")],
) -> None:
    """Keep every record of an interaction until the hold is released."""
    try:
        request = LegalHoldRequest(interaction_id=interaction, reason=reason)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    body = request.model_dump(mode="json")
    hold = LegalHold.model_validate(call(lambda api: api.post("/v1/retention/holds", body)))
    console.print(f"hold {hold.id} on {hold.interaction_id} by {hold.set_by}")


@hold_app.command("release")
def hold_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id (see `hold list`).")],
) -> None:
    """Release a hold: the interaction's records follow the policy again."""
    path = f"/v1/retention/holds/{hold_id}/release"
    released = LegalHold.model_validate(call(lambda api: api.post(path)))
    console.print(f"hold {hold_id} on {released.interaction_id} released by {released.released_by}")


@hold_app.command("list")
def hold_list(
    all_holds: Annotated[bool, typer.Option("--all", help="Released ones too.")] = False,
) -> None:
    rows: list[dict[str, Any]] = call(
        lambda api: api.get("/v1/retention/holds", include_released=str(all_holds).lower())
    )
    table = Table("id", "interaction", "set by", "set at", "released", "reason")
    for hold in (LegalHold.model_validate(row) for row in rows):
        released = f"{hold.released_at} by {hold.released_by}" if hold.released_at else "-"
        table.add_row(
            str(hold.id), hold.interaction_id, hold.set_by, hold.set_at, released, hold.reason
        )
    console.print(table)


@app.command()
def plan() -> None:
    """What the next run would delete now, per data class and region, and what holds keep."""
    made = RetentionPlan.model_validate(call(lambda api: api.get("/v1/retention/plan")))
    console.print(f"policy v{made.policy_version}, planned {made.planned_at}")
    if not made.steps:
        console.print("nothing to purge: no rule applies (or no checkpoint is old enough)")
        return
    table = Table("data class", "region", "regulation", "older than", "deletes", "held")
    for count in made.expected:
        step = count.step
        region = step.region + (f" (not {', '.join(step.other_than)})" if step.other_than else "")
        table.add_row(
            step.data_class.value,
            region,
            step.regulation or "-",
            step.cutoff,
            f"{count.deleted} {'records' if step.data_class.value == 'audit' else 'interactions'}",
            str(count.held),
        )
    console.print(table)


@app.command()
def schedule(
    every_minutes: Annotated[
        int | None, typer.Option(min=1, help="Interval (default: setting).")
    ] = None,
) -> None:
    """Create the retention Schedule, or set its interval (a deploy step: Temporal access)."""
    settings = load_settings()
    every = timedelta(minutes=every_minutes or settings.retention_every_minutes)

    async def main() -> bool:
        return await ensure_retention_schedule(await connect(settings), every, update=True)

    created = asyncio.run(main())
    console.print(f"{'created' if created else 'updated'} {RETENTION_SCHEDULE_ID}: every {every}")


@app.command()
def run() -> None:
    """Trigger the retention Schedule now (a checkpoint, then the purge), as you (audited)."""
    requested = call(lambda api: api.post("/v1/retention/runs"))
    console.print(f"triggered {requested['schedule_id']} for {requested['requested_by']}")

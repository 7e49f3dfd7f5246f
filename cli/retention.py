"""``warmline retention``: the retention policy, legal holds, and what the next run deletes.

The policy and holds live in the store (every change audited in the ``retention`` stream); the
``warmline-retention`` Temporal Schedule enforces them (``schedule`` creates or retimes it,
``run`` triggers it now).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from models.retention import RETENTION_SCHEDULE_ID, RetentionPolicy
from runtime.audit_keys import open_store
from runtime.schedules import ensure_retention_schedule
from runtime.settings import load_settings
from runtime.temporal_client import connect
from store.retention import RetentionStore

app = typer.Typer(help="Retention policy, legal holds and purges.", no_args_is_help=True)
policy_app = typer.Typer(help="The versioned retention policy.", no_args_is_help=True)
hold_app = typer.Typer(help="Legal holds on interactions.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(hold_app, name="hold")
console = Console()


def _retention() -> RetentionStore:
    return RetentionStore(open_store(load_settings()))


@policy_app.command("set")
def policy_set(
    file: Annotated[Path, typer.Argument(exists=True, readable=True)],
    author: Annotated[str, typer.Option(help="Who makes this change (audited).")],
) -> None:
    """Store a retention policy document (JSON) as the next version."""
    try:
        policy = RetentionPolicy.model_validate_json(file.read_text())
    except ValidationError as exc:
        raise typer.BadParameter(f"{file}: {exc}") from None
    saved = _retention().save_policy(policy, author)
    console.print(f"stored retention policy v{saved.version} by {author}")


@policy_app.command("show")
def policy_show() -> None:
    """Print the active retention policy (version 0: nothing is purged)."""
    print(_retention().active_policy().model_dump_json(indent=2))


@hold_app.command("set")
def hold_set(
    interaction: Annotated[str, typer.Option(help="Interaction id to keep.")],
    reason: Annotated[str, typer.Option(help="Why (redacted before it is stored).")],
    by: Annotated[str, typer.Option(help="Who sets it (audited).")],
) -> None:
    """Keep every record of an interaction until the hold is released."""
    hold = _retention().set_hold(interaction, reason, by)
    console.print(f"hold {hold.id} on {hold.interaction_id} by {hold.set_by}")


@hold_app.command("release")
def hold_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id (see `hold list`).")],
    by: Annotated[str, typer.Option(help="Who releases it (audited).")],
) -> None:
    """Release a hold: the interaction's records follow the policy again."""
    released = _retention().release_hold(hold_id, by)
    if released is None:
        console.print(f"[red]no active hold {hold_id}[/red]")
        raise typer.Exit(1)
    console.print(f"hold {hold_id} on {released.interaction_id} released by {by}")


@hold_app.command("list")
def hold_list(
    all_holds: Annotated[bool, typer.Option("--all", help="Released ones too.")] = False,
) -> None:
    table = Table("id", "interaction", "set by", "set at", "released", "reason")
    for hold in _retention().holds(active_only=not all_holds):
        released = f"{hold.released_at} by {hold.released_by}" if hold.released_at else "-"
        table.add_row(
            str(hold.id), hold.interaction_id, hold.set_by, hold.set_at, released, hold.reason
        )
    console.print(table)


@app.command()
def plan() -> None:
    """What the next run would delete now, per data class and region, and what holds keep."""
    retention = _retention()
    made = retention.plan(datetime.now(UTC))
    console.print(f"policy v{made.policy_version}, planned {made.planned_at}")
    if not made.steps:
        console.print("nothing to purge: no rule applies (or no checkpoint is old enough)")
        return
    table = Table("data class", "region", "regulation", "older than", "deletes", "held")
    for step in made.steps:
        count = retention.count(step, made.audit_anchor)
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
    """Create the retention Schedule, or set its interval."""
    settings = load_settings()
    every = timedelta(minutes=every_minutes or settings.retention_every_minutes)

    async def main() -> bool:
        return await ensure_retention_schedule(await connect(settings), every, update=True)

    created = asyncio.run(main())
    console.print(f"{'created' if created else 'updated'} {RETENTION_SCHEDULE_ID}: every {every}")


@app.command()
def run() -> None:
    """Trigger the retention Schedule now (a checkpoint, then the purge)."""
    settings = load_settings()

    async def main() -> None:
        await (await connect(settings)).get_schedule_handle(RETENTION_SCHEDULE_ID).trigger()

    asyncio.run(main())
    console.print(f"triggered {RETENTION_SCHEDULE_ID}")

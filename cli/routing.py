"""``warmline routing proposals``: thresholds and capability scores calibrated from outcomes,
waiting for a human's approval.

Through the API (``cli.api_client``), as the caller's identity: ``list`` and ``show`` need the
routing read permission, ``approve``, ``reject`` and ``run`` the routing change permission.
``show`` prints the evidence beside the proposal: per cell of the confidence matrix the bands
(interactions, contained, escalated, CSAT, resolution) and the thresholds today and proposed;
per AI endpoint and intent the configured capability beside the estimate.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.api_client import call
from models.calibration import (
    CalibrationRunInput,
    ProposalDecision,
    ProposalStatus,
    ProposalSummary,
    RoutingProposal,
)

app = typer.Typer(help="Routing that learns from outcomes.", no_args_is_help=True)
proposals_app = typer.Typer(
    help="Calibration proposals: list, show, approve, reject, run.", no_args_is_help=True
)
app.add_typer(proposals_app, name="proposals")
console = Console()
NoteOpt = Annotated[str, typer.Option("--note", help="Why (audited, redacted).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON instead of tables.")]


@proposals_app.command("list")
def list_proposals(
    status: Annotated[ProposalStatus | None, typer.Option(help="Only this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Proposals, newest first."""
    rows = [
        ProposalSummary.model_validate(row)
        for row in call(lambda api: api.get("/v1/routing-proposals", status=status))
    ]
    if as_json:
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    table = Table(title="Routing proposals")
    for column in ("id", "status", "created", "on config", "interactions", "changes", "applied"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.status.value,
            row.created_at[:19],
            f"v{row.base_version}",
            str(row.interactions),
            str(row.changes),
            f"v{row.applied_version} by {row.decided_by}" if row.applied_version else "",
        )
    console.print(table)


def _band(low: float, high: float) -> str:
    return f"{low:.2f}-{high:.2f}"


def print_proposal(proposal: RoutingProposal) -> None:
    result = proposal.result
    decided = f", {proposal.decided_by}" if proposal.decided_by else ""
    console.print(
        f"proposal {proposal.id} [{proposal.status.value}{decided}] on routing config "
        f"v{result.base_version}: {result.interactions} AI-routed interactions, target "
        f"resolution {result.target.min_resolution_rate:g} (monitored "
        f"{result.target.min_monitored_resolution_rate:g}), at least {result.target.min_samples}"
        " interactions per move"
    )
    for change in result.changes or ["no changes"]:
        console.print(f"  {change}")
    for cell in result.cells:
        proposed = cell.proposed
        title = (
            f"{cell.intent} / {cell.channel} / {cell.segment}: ai_min {cell.current.ai_min:g}"
            + (f" -> {proposed.ai_min:g}" if proposed else "")
            + f", monitored_min {cell.current.monitored_min:g}"
            + (f" -> {proposed.monitored_min:g}" if proposed else "")
        )
        table = Table(title=title, caption="; ".join(cell.reasons))
        # "back": customers who came back within the repeat window (not resolved).
        columns = ("band", "n", "contained", "escalated", "abandoned", "back", "resolved")
        for column in (*columns, "CSAT"):
            table.add_column(column, justify="right", no_wrap=column == "band")
        for band in cell.bands:
            table.add_row(
                _band(band.low, band.high),
                str(band.interactions),
                str(band.contained),
                str(band.escalated),
                str(band.abandoned),
                str(band.repeat_contacts) if band.repeat_contacts is not None else "-",
                f"{band.resolved / band.interactions:.0%}" if band.interactions else "-",
                f"{band.csat_mean:.1f}" if band.csat_mean is not None else "-",
            )
        console.print(table)
    if result.capabilities:
        table = Table(title="Capability: configured beside estimated (shrunk toward configured)")
        for column in (
            "endpoint",
            "intent",
            "n",
            "resolved",
            "configured",
            "estimated",
            "proposed",
        ):
            table.add_column(column)
        for estimate in result.capabilities:
            table.add_row(
                estimate.endpoint,
                estimate.intent,
                str(estimate.interactions),
                str(estimate.resolved),
                f"{estimate.configured:g}",
                f"{estimate.estimated:g}",
                "yes" if estimate.proposed else "",
            )
        console.print(table)


@proposals_app.command("show")
def show(proposal_id: Annotated[int, typer.Argument()], as_json: JsonOpt = False) -> None:
    """A proposal with its evidence."""
    proposal = RoutingProposal.model_validate(
        call(lambda api: api.get(f"/v1/routing-proposals/{proposal_id}"))
    )
    if as_json:
        print(proposal.model_dump_json(indent=2))
        return
    print_proposal(proposal)


def _decide(proposal_id: int, verb: str, note: str) -> None:
    body = ProposalDecision(note=note).model_dump(mode="json")
    decided = RoutingProposal.model_validate(
        call(lambda api: api.post(f"/v1/routing-proposals/{proposal_id}/{verb}", body))
    )
    if decided.applied_version is not None:
        console.print(
            f"proposal {decided.id} approved: routing config v{decided.applied_version} "
            f"by {decided.decided_by}"
        )
    else:
        console.print(f"proposal {decided.id} {decided.status.value} by {decided.decided_by}")


@proposals_app.command("approve")
def approve(proposal_id: Annotated[int, typer.Argument()], note: NoteOpt = "") -> None:
    """Store the proposed config as the next routing config version, authored by you."""
    _decide(proposal_id, "approve", note)


@proposals_app.command("reject")
def reject(proposal_id: Annotated[int, typer.Argument()], note: NoteOpt = "") -> None:
    _decide(proposal_id, "reject", note)


@proposals_app.command("run")
def run() -> None:
    """Start a calibration run now (the Schedule runs one daily); it only proposes."""
    body = CalibrationRunInput().model_dump(mode="json")
    started = call(lambda api: api.post("/v1/routing-proposals/runs", body))
    console.print(f"started {started['workflow_id']}; see `warmline routing proposals list`")

"""``warmline wfm``: staffing math, interval exports, the WFM event outbox and schedule sync.

Everything here is what a WFM analyst runs by hand; the same numbers are served by the API
(``api/wfm.py``) and delivered as events. Commands that read the store open it from
``WARMLINE_DATABASE_URL`` like every other ``warmline`` command.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console

from warmline.erlang import staffing as size_staffing

app = typer.Typer(
    help="WFM integration: staffing, interval exports, events, schedule sync.",
    no_args_is_help=True,
)
console = Console()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@app.command("staffing")
def staffing(
    arrivals: Annotated[float, typer.Option(min=0, help="Contacts offered in the interval.")],
    interval_seconds: Annotated[float, typer.Option(min=1, help="Interval length in seconds.")],
    aht_seconds: Annotated[float, typer.Option(min=0, help="Average handle time in seconds.")],
    target_sl: Annotated[
        float, typer.Option(min=0, max=0.999999, help="Service level target, e.g. 0.8.")
    ] = 0.8,
    target_answer_seconds: Annotated[
        float, typer.Option(min=0, help="Answer-within threshold of the service level.")
    ] = 20.0,
    max_occupancy: Annotated[
        float | None, typer.Option(min=0.01, max=1.0, help="Occupancy cap, e.g. 0.85.")
    ] = None,
    shrinkage: Annotated[
        float, typer.Option(min=0, max=0.999999, help="Share of scheduled time not productive.")
    ] = 0.0,
    target_asa_seconds: Annotated[
        float | None, typer.Option(min=0, help="Also hold the average speed of answer at this.")
    ] = None,
    agents: Annotated[
        int | None, typer.Option(min=0, help="Report the metrics at this productive count.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Erlang C staffing for one interval: productive (raw) and scheduled agents, service
    level, probability of waiting, ASA and occupancy."""
    try:
        result = size_staffing(
            arrivals=arrivals,
            interval_seconds=interval_seconds,
            aht_seconds=aht_seconds,
            target_sl=target_sl,
            target_answer_seconds=target_answer_seconds,
            max_occupancy=max_occupancy,
            shrinkage=shrinkage,
            target_asa_seconds=target_asa_seconds,
            agents=agents,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    body = asdict(result) | {
        "traffic_erlangs": round(result.traffic_erlangs, 6),
        "service_level": round(result.service_level, 6),
        "p_wait": round(result.p_wait, 6),
        "asa_s": _round(result.asa_s, 3),
        "occupancy": round(result.occupancy, 6),
    }
    if as_json:
        print(json.dumps(body))
        return
    asa = "unbounded (understaffed)" if body["asa_s"] is None else f"{body['asa_s']:.1f} s"
    console.print(
        f"{body['traffic_erlangs']:g} Erlangs: {result.raw_agents} productive agents, "
        f"{result.scheduled_agents} scheduled; service level {result.service_level:.1%}, "
        f"P(wait) {result.p_wait:.1%}, ASA {asa}, occupancy {result.occupancy:.1%}"
    )

"""Schedule sync in the core: plan files refused whole with row and column, routing and
spillover admission using the plan, plan vs actual and the intraday re-forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.interaction import Channel, EscalationTrigger, OrchestrationPattern, Route
from models.routing import (
    Classification,
    FleetSnapshot,
    HumanAvailability,
    PlannedStaffing,
    RouteRequest,
    SpilloverPolicy,
)
from models.wfm import PlannedInterval
from warmline.default_config import default_routing_config
from warmline.routing import decide_route
from warmline.spillover import SpilloverAction, spillover_action
from warmline.staffing_plan import (
    Actual,
    PlanRejected,
    parse_plan_csv,
    plan_vs_actual,
    reforecast,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GOOD = """interval_start,queue,planned_agents,planned_volume,planned_aht_seconds
2026-03-02T09:00:00Z,general,12,100,300
2026-03-02T09:15:00Z,general,5,90,
2026-03-02T09:00:00+01:00,billing,3,,
"""


def test_a_good_plan_parses_with_optional_cells() -> None:
    rows = parse_plan_csv(GOOD, 15)
    assert [(r.queue, r.planned_agents, r.planned_volume) for r in rows] == [
        ("general", 12, 100.0),
        ("general", 5, 90.0),
        ("billing", 3, None),
    ]
    assert rows[2].interval_start == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD.replace(",12,", ",twelve,"), "row 2, column planned_agents: 'twelve' is not a whole"),
        (GOOD.replace(",5,90", ",-5,90"), "row 3, column planned_agents: '-5' must be >= 0"),
        (GOOD.replace("09:15:00Z", "09:10:00Z"), "row 3, column interval_start: "),
        (GOOD.replace("2026-03-02T09:15", "yesterday"), "row 3, column interval_start: not an"),
        (GOOD.replace(",90,", ",ninety,"), "row 3, column planned_volume"),
        (GOOD.replace("general,5", ",5"), "row 3, column queue: empty"),
        (
            GOOD + "2026-03-02T09:00:00Z,general,4,,\n",
            "row 5, column interval_start: duplicates row 2",
        ),
        (GOOD.replace("planned_agents", "agents"), "row 1, column header: missing planned_agents"),
        (GOOD + "2026-03-02T09:30:00Z,general\n", "row 5, column *: 2 fields"),
        ("", "row 1, column header: the file is empty"),
    ],
)
def test_a_bad_cell_refuses_the_whole_file_naming_row_and_column(text: str, where: str) -> None:
    with pytest.raises(PlanRejected) as refused:
        parse_plan_csv(text, 15)
    assert where in str(refused.value)


def test_errors_are_listed_together() -> None:
    text = GOOD.replace(",12,", ",x,").replace(",90,", ",y,")
    with pytest.raises(PlanRejected) as refused:
        parse_plan_csv(text, 15)
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (2, "planned_agents"),
        (3, "planned_volume"),
    ]


def humans(agents: int, plan: list[int], queue: str = "billing") -> HumanAvailability:
    return HumanAvailability(
        queue=queue,
        agents=agents,
        available_agents=0,
        queued=0,
        plan=[
            PlannedStaffing(
                interval_start=(T0 + timedelta(minutes=15 * i)).isoformat(), planned_agents=n
            )
            for i, n in enumerate(plan)
        ],
    )


def route(confidence: float, snapshot: FleetSnapshot) -> tuple[Route, list[str]]:
    request = RouteRequest(
        interaction_id="int-1",
        channel=Channel.CHAT,
        segment="standard",
        language="en",
        classification=Classification(
            intent="billing_inquiry", confidence=confidence, model_version="clf-1"
        ),
    )
    decision = decide_route(
        request, default_routing_config("http://fleet.test"), snapshot, OrchestrationPattern.PRE_ACD
    )
    return decision.route, decision.reasons


def test_borderline_interactions_stay_with_ai_ahead_of_a_planned_drop() -> None:
    drop = FleetSnapshot(humans=[humans(12, [12, 5])])
    steady = FleetSnapshot(humans=[humans(12, [12, 12])])
    # 0.70 is below monitored_min 0.75 but within the 0.1 retain margin.
    assert route(0.70, steady)[0] is Route.HUMAN
    kept, reasons = route(0.70, drop)
    assert kept is Route.AI_MONITORED
    assert any("human capacity low ahead" in r and "planned agents 5" in r for r in reasons)
    # Far below the margin: the drop does not keep it.
    assert route(0.60, drop)[0] is Route.HUMAN
    # No plan, or a drop in another queue: routing as before.
    assert route(0.70, FleetSnapshot())[0] is Route.HUMAN
    elsewhere = FleetSnapshot(humans=[humans(12, [12, 5], queue="general"), humans(6, [6, 6])])
    assert route(0.70, elsewhere)[0] is Route.HUMAN


def test_spillover_admission_meters_on_the_smaller_planned_shift() -> None:
    policy = SpilloverPolicy(max_queued_per_agent=2)
    args = {
        "channel": Channel.CHAT,
        "priority": 5,
        "trigger": EscalationTrigger.SENTIMENT,
        "has_self_service": False,
        "policy": policy,
    }
    now = humans(4, [4, 1]).model_copy(update={"queued": 3, "estimated_wait_seconds": 0})
    verdict = spillover_action(capacity=now, **args)  # type: ignore[arg-type]
    assert verdict.action is SpilloverAction.BUFFER  # 3 >= 2 x 1 planned agent
    assert "plan: 1 agents from" in verdict.reasons[0]
    steady = now.model_copy(update={"plan": []})
    assert spillover_action(capacity=steady, **args).action is SpilloverAction.TRANSFER  # type: ignore[arg-type]


def plan_row(minutes: int, agents: int, volume: float) -> PlannedInterval:
    return PlannedInterval(
        interval_start=T0 + timedelta(minutes=minutes),
        queue="general",
        planned_agents=agents,
        planned_volume=volume,
        planned_aht_seconds=180,
    )


def test_plan_vs_actual_sizes_the_actual_with_erlang_c() -> None:
    plan = [plan_row(0, 12, 100)]
    actual = [Actual(T0, "general", 200, 200 * 180.0, 200)]
    (row,) = plan_vs_actual(plan, actual, 1800, 0.8, 20)
    # 200 contacts of 180 s in 30 minutes = 20 Erlangs; Erlang C needs 24 at 80/20.
    assert (row.actual_volume, row.actual_aht_seconds, row.required_agents) == (200, 180.0, 24)
    assert row.staffing_variance == 12 - 24 and row.volume_variance == 100.0


def test_reforecast_scales_the_rest_of_the_day_by_the_ratio_so_far() -> None:
    plan = [plan_row(0, 10, 100), plan_row(15, 10, 100), plan_row(30, 10, 200)]
    actual = [
        Actual(T0, "general", 130, 0, 0),
        Actual(T0 + timedelta(minutes=15), "general", 110, 0, 0),
    ]
    (future,) = reforecast(plan, actual, T0 + timedelta(minutes=30))
    assert future.ratio == 1.2 and future.reforecast_volume == 240.0
    wild = [Actual(T0, "general", 5000, 0, 0)]
    (bounded,) = reforecast(plan[:1] + plan[2:], wild, T0 + timedelta(minutes=30))
    assert bounded.ratio == 4.0 and "bounded" in bounded.reasons[-1]

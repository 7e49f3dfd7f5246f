"""Summary numbers on a hand-built set of facts (every expected value computed by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from store import HandleTimes, Store, summarize
from tests.store.builders import make_record

AI, MON, HUMAN = "ai", "ai_monitored", "human"
CONTAINED, ASSISTED, HUMAN_ONLY = "ai_contained", "ai_assisted", "human_only"

# id, route, pool, outcome, channel, trigger, (ai, queue, human, total), cost, csat, saved wait
FACTS: list[tuple[Any, ...]] = [
    ("s_01", AI, CONTAINED, "contained", "chat", None, (30, 0, 0, 30), 0.01, 5, 0),
    ("s_02", AI, CONTAINED, "contained", "chat", None, (60, 0, 0, 60), 0.02, 4, 0),
    ("s_03", AI, CONTAINED, "contained", "voice", None, (90, 0, 0, 90), 0.03, None, 0),
    ("s_04", MON, CONTAINED, "contained", "email", None, (120, 0, 0, 120), 0.04, 3, 0),
    ("s_05", AI, ASSISTED, "escalated", "chat", "sentiment", (40, 20, 200, 260), 0.05, 2, 15),
    ("s_06", MON, ASSISTED, "escalated", "voice", "max_turns", (100, 50, 300, 450), 0.06, 4, 0),
    (
        "s_07",
        HUMAN,
        HUMAN_ONLY,
        "human_only",
        "voice",
        "routed_to_human",
        (0, 10, 100, 110),
        0,
        5,
        30,
    ),
    (
        "s_08",
        HUMAN,
        HUMAN_ONLY,
        "human_only",
        "chat",
        "routed_to_human",
        (0, 0, 50, 50),
        0,
        None,
        0,
    ),
    ("s_09", AI, HUMAN_ONLY, "abandoned", "chat", "ai_unavailable", (0, 5, 0, 5), 0, None, 0),
]


def _seed(store: Store) -> None:
    records = []
    for iid, route, pool, outcome, channel, trigger, seconds, cost, csat, saved in FACTS:
        ai, queue, human, total = seconds
        records.append(
            make_record(
                iid,
                events=1,
                route=route,
                pool=pool,
                outcome=outcome,
                channel=channel,
                escalation_trigger=trigger,
                ai_seconds=ai,
                queue_seconds=queue,
                human_seconds=human,
                total_seconds=total,
                cost_usd=cost,
                csat=csat,
                reservation_released=saved > 0,
                saved_wait_seconds=saved,
                started_at="2025-01-01T10:00:00+00:00",
            )
        )
    # Excluded by `since` (one second before), by the prefix ("_" must not act as a wildcard).
    records.append(make_record("s_00", started_at="2024-12-31T23:59:59Z", pool=HUMAN_ONLY))
    records.append(make_record("sx-1", started_at="2025-01-02T00:00:00Z"))
    assert all(store.record_interactions(records))


def _times(count: int, p50: float | None, p90: float | None, p95: float | None) -> HandleTimes:
    return HandleTimes(count=count, p50=p50, p90=p90, p95=p95)


def test_nearest_rank_in_sql(store: Store) -> None:
    """The smallest sample with at least p% at or below it, picked by row number in SQL."""
    store.record_interactions(
        [make_record(f"r_{v:02d}", total_seconds=float(v)) for v in range(20, 0, -1)]
    )
    assert summarize(store).handle_times["total"] == _times(20, 10.0, 18.0, 19.0)
    assert summarize(store, interaction_prefix="r_07").handle_times["total"] == _times(
        1, 7.0, 7.0, 7.0
    )


@pytest.mark.parametrize("since", ["2025-01-01T00:00:00Z", "2025-01-01T01:00:00+01:00"])
def test_summary_of_hand_built_facts(store: Store, since: str) -> None:
    _seed(store)
    summary = summarize(store, since=since, interaction_prefix="s_")

    assert summary.total == 9
    assert summary.by_pool == {CONTAINED: 4, ASSISTED: 2, HUMAN_ONLY: 3}
    assert summary.by_outcome == {"contained": 4, "escalated": 2, "human_only": 2, "abandoned": 1}
    assert summary.by_channel == {"chat": 5, "voice": 3, "email": 1}
    assert (summary.ai_routed, summary.ai_contained) == (7, 4)
    assert summary.containment_rate == round(4 / 7, 6)
    assert summary.escalation_reasons == {
        "sentiment": 1,
        "max_turns": 1,
        "routed_to_human": 2,
        "ai_unavailable": 1,
    }
    # ai: AI pools only -> [30, 40, 60, 90, 100, 120]; p50 = rank ceil(3) = 60.
    # total: [5, 30, 50, 60, 90, 110, 120, 260, 450]; p50 = rank ceil(4.5) = 5th = 90.
    assert summary.handle_times == {
        "ai": _times(6, 60, 120, 120),
        "queue": _times(4, 10, 50, 50),
        "human": _times(4, 100, 300, 300),
        "total": _times(9, 90, 450, 450),
    }
    assert summary.handle_times_by_pool[HUMAN_ONLY] == {
        "ai": _times(0, None, None, None),
        "queue": _times(2, 5, 10, 10),
        "human": _times(2, 50, 100, 100),
        "total": _times(3, 50, 110, 110),
    }
    assert summary.handle_times_by_pool[ASSISTED]["total"] == _times(2, 260, 450, 450)
    assert summary.reservations_released == 2
    assert summary.saved_wait_seconds == 45.0
    assert summary.cost_usd == 0.21
    assert summary.csat_by_pool == {CONTAINED: 4.0, ASSISTED: 3.0, HUMAN_ONLY: 5.0}


def test_filters_are_optional(store: Store) -> None:
    _seed(store)
    assert summarize(store).total == 11
    assert summarize(store.engine, interaction_prefix="s_").total == 10
    assert summarize(store, since="2025-01-01T00:00:00Z").total == 10


def test_empty_summary(store: Store) -> None:
    summary = summarize(store)
    assert summary.total == 0
    assert summary.by_pool == {CONTAINED: 0, ASSISTED: 0, HUMAN_ONLY: 0}
    assert summary.containment_rate is None
    assert summary.handle_times["total"] == _times(0, None, None, None)
    assert summary.csat_by_pool == {CONTAINED: None, ASSISTED: None, HUMAN_ONLY: None}
    assert (summary.cost_usd, summary.saved_wait_seconds, summary.reservations_released) == (
        0.0,
        0.0,
        0,
    )

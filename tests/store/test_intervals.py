"""Interval rollup in SQL on both backends, held to a Python reference of the same arithmetic.

The reference (``expected_rows``) groups the facts in Python and uses
``warmline.intervals.histogram_percentile``: if the SQL's CASE tree, window functions or
integer arithmetic drifted on either backend, a count or a percentile would differ here.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from store import Store
from store.intervals import IntervalStore, interval_tables
from tests.store.builders import make_record
from warmline.intervals import (
    SEGMENTS,
    covering_ranges,
    histogram,
    histogram_percentile,
    interval_start,
)

BASE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OUTCOMES = {
    "ai_contained": ["contained"],
    "ai_assisted": ["escalated", "abandoned", "callback"],
    "human_only": ["human_only", "abandoned", "deflected", "callback", "throttled", "refused"],
}
NOT_DEMAND = ("throttled", "refused")
"""Abuse-limited starts: no one was offered them, so they are no staffing demand."""


@pytest.fixture
def intervals(store: Store) -> Iterator[IntervalStore]:
    held = IntervalStore(store.engine)
    held.init_schema()
    names = ", ".join(t.name for t in interval_tables())
    with store.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {interval_tables()[0].name}"))
        conn.execute(text(f"DELETE FROM {interval_tables()[1].name}"))
    assert names
    yield held


def random_facts(rng: random.Random, count: int, span_minutes: int = 120) -> list[dict[str, Any]]:
    facts = []
    for n in range(count):
        pool = rng.choice(list(OUTCOMES))
        started = BASE + timedelta(seconds=rng.randrange(span_minutes * 60))
        ai = rng.choice([0.0, 3.5, 12.0, 47.25, 180.0]) if pool != "human_only" else 0.0
        queue = rng.choice([0.0, 4.0, 31.0, 95.5]) if pool != "ai_contained" else 0.0
        human = rng.choice([0.0, 60.0, 250.0, 901.0, 4000.0]) if pool != "ai_contained" else 0.0
        facts.append(
            {
                "interaction_id": f"f-{n:05d}",
                "channel": rng.choice(["chat", "voice"]),
                "intent": rng.choice(["billing", "order_status"]),
                "pool": pool,
                "outcome": rng.choice(OUTCOMES[pool]),
                "queue": rng.choice(["general", "billing", None]),
                "human_queue": rng.choice(["general", None]),
                "started_at": started.isoformat(),
                "ai_seconds": ai,
                "queue_seconds": queue,
                "human_seconds": human,
                "after_transfer_seconds": queue + human if pool == "ai_assisted" else 0.0,
                "csat": rng.choice([None, 1, 3, 5]),
                "cost_usd": rng.choice([0.0, 0.0012, 0.0305]),
                # AI-to-AI hand-offs (no rng draw: the other fields stay as they were)
                "handoffs": (n % 7) % 3 if pool != "human_only" else 0,
            }
        )
    return facts


def record(store: Store, facts: list[dict[str, Any]]) -> None:
    store.record_interactions(
        [make_record(f["interaction_id"], events=0, **_without_id(f)) for f in facts]
    )


def _without_id(fact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fact.items() if k != "interaction_id"}


def expected_rows(
    facts: list[dict[str, Any]], minutes: int
) -> dict[tuple[Any, ...], dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        if f["outcome"] in NOT_DEMAND:
            continue
        start = interval_start(datetime.fromisoformat(f["started_at"]).timestamp(), minutes)
        queue = f["queue"] or f["human_queue"] or "unassigned"
        groups[(start, queue, f["channel"], f["intent"], f["pool"])].append(f)
    rows = {}
    for key, members in groups.items():
        row: dict[str, Any] = {
            "offered": len(members),
            "handled": sum(
                m["outcome"] in ("contained", "escalated", "human_only") for m in members
            ),
            "abandoned": sum(m["outcome"] == "abandoned" for m in members),
            "deflected": sum(m["outcome"] == "deflected" for m in members),
            "callbacks": sum(m["outcome"] == "callback" for m in members),
            "contained": sum(m["outcome"] == "contained" for m in members),
            "escalated": sum(m["outcome"] == "escalated" for m in members),
            "handed_off": sum(m["handoffs"] > 0 for m in members),
            "handoffs": sum(m["handoffs"] for m in members),
            "csat_sum": sum(m["csat"] or 0 for m in members),
            "csat_count": sum(m["csat"] is not None for m in members),
            "cost_usd": round(sum(m["cost_usd"] for m in members), 9),
        }
        for segment in SEGMENTS:
            samples = [m[f"{segment}_seconds"] for m in members if m[f"{segment}_seconds"] > 0]
            counts = histogram(samples)
            row[f"{segment}_count"] = len(samples)
            row[f"{segment}_sum"] = round(sum(samples), 9)
            for p in (50, 90):
                value = histogram_percentile(counts, p)
                row[f"{segment}_p{p}"] = None if value is None else round(value, 9)
        rows[key] = row
    return rows


def stored_rows(intervals: IntervalStore, minutes: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = intervals.rows(minutes, BASE - timedelta(days=1), BASE + timedelta(days=2))
    out = {}
    for r in rows:
        body = r.model_dump()
        key = tuple(body.pop(k) for k in ("start_epoch", "queue", "channel", "intent", "pool"))
        body.pop("interval_minutes")
        out[key] = {k: round(v, 9) if isinstance(v, float) else v for k, v in body.items()}
    return out


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_rollup_matches_the_reference(store: Store, intervals: IntervalStore, minutes: int) -> None:
    facts = random_facts(random.Random(minutes), 400)
    record(store, facts)
    result = intervals.rollup(minutes)
    expected = expected_rows(facts, minutes)
    assert result.rows == len(expected)
    assert stored_rows(intervals, minutes) == expected


def test_rerun_is_idempotent_and_late_facts_land_in_their_interval(
    store: Store, intervals: IntervalStore
) -> None:
    rng = random.Random(7)
    facts = random_facts(rng, 200)
    record(store, facts)
    intervals.rollup(15)
    first = stored_rows(intervals, 15)
    again = intervals.rollup(15)
    assert stored_rows(intervals, 15) == first  # same facts, same rows
    # Only the intervals with facts recorded within the overlap are recomputed.
    assert again.intervals <= len({k[0] for k in first})
    # A fact recorded now for an interaction that started an hour earlier:
    late = random_facts(random.Random(99), 1)[0] | {
        "interaction_id": "late-1",
        "started_at": (BASE + timedelta(minutes=7)).isoformat(),
    }
    record(store, [late])
    result = intervals.rollup(15, overlap_seconds=0)
    assert result.intervals == 1 and result.ranges == [
        (int(BASE.timestamp()), int(BASE.timestamp()) + 900)
    ]
    assert stored_rows(intervals, 15) == expected_rows([*facts, late], 15)


def test_full_rollup_after_rows_were_lost(store: Store, intervals: IntervalStore) -> None:
    facts = random_facts(random.Random(3), 120)
    record(store, facts)
    intervals.rollup(30)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM wfm_intervals"))
    assert intervals.rollup(30, overlap_seconds=0).rows == 0  # nothing new since the watermark
    intervals.rollup(30, full=True)
    assert stored_rows(intervals, 30) == expected_rows(facts, 30)


def test_interval_length_must_divide_a_day(intervals: IntervalStore) -> None:
    with pytest.raises(ValueError, match="divide a day"):
        intervals.rollup(7)


def test_covering_ranges_merge_touching_intervals() -> None:
    assert covering_ranges([900, 0, 2700, 900], 900) == [(0, 1800), (2700, 3600)]
    assert covering_ranges([], 900) == []


def test_histogram_percentile_interpolates_inside_the_bucket() -> None:
    # Four samples in [60, 90): the median (rank 2) sits half-way through that bucket.
    assert histogram_percentile(histogram([61, 62, 63, 64]), 50) == 75.0
    assert histogram_percentile(histogram([1.0]), 90) == 5.0
    assert histogram_percentile(histogram([10**7]), 50) == 604800.0  # open-ended last bucket
    assert histogram_percentile(histogram([]), 50) is None

"""Canary and A/B metrics aggregated in SQL equal the Python aggregation of the same facts.

Both backends (``store`` runs each test on SQLite and on PostgreSQL): the facts are random
but seeded, with every edge the aggregation has (unrated interactions, escalations without a
trigger or with an empty one, interactions without AI calls, mean latencies exactly on bucket
edges and beyond the last one, facts just outside the window). The analyses built on the two
aggregations must come out the same, down to their reasons.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.facts import InteractionFacts, RecordInteraction
from models.fleet import ABTestConfig
from models.fleet_analysis import LATENCY_BUCKET_EDGES_MS, AnalysisTemplate, VersionMetrics
from store import Store
from store.tables import parse_utc
from tests.store.builders import make_record
from warmline.ab_analysis import ab_report
from warmline.canary_analysis import analyse
from warmline.fleet_metrics import merge_metrics, version_metrics

PRODUCTION = "care-bot:2026.10"
CANARY = "care-bot:2026.11"
OTHER = "billing-bot:3.2"
START = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
SINCE = START + timedelta(minutes=5)
STEP_SINCE = START + timedelta(minutes=40)
UNTIL = START + timedelta(minutes=55)
FACTS = 240
TRIGGERS = ("explicit_request", "sentiment", "max_turns", "ai_unavailable", "", None)


def random_records(seed: int) -> list[RecordInteraction]:
    rng = random.Random(seed)
    records = []
    for i in range(FACTS):
        endpoint = rng.choice((PRODUCTION, PRODUCTION, CANARY, OTHER))
        canary = endpoint == CANARY
        outcome = rng.choices(
            ("contained", "escalated", "abandoned"), weights=(6 if not canary else 4, 3, 1)
        )[0]
        calls = rng.choice((0, 1, 1, 2, 3, 5))
        if i % 17 == 0 and calls:
            latency_total = rng.choice(LATENCY_BUCKET_EDGES_MS) * calls  # exactly on an edge
        elif i % 23 == 0:
            latency_total = 30_000.0 * max(calls, 1)  # beyond the last edge
        else:
            latency_total = rng.lognormvariate(math.log(400 if canary else 300), 0.6) * calls
        started = START + timedelta(seconds=rng.uniform(0, 3600))
        ended = started + timedelta(seconds=rng.uniform(30, 900))
        records.append(
            make_record(
                f"m-{seed}-{i:04d}",
                events=1,
                ai_endpoint=endpoint,
                outcome=outcome,
                pool="ai_contained" if outcome == "contained" else "ai_assisted",
                escalation_trigger=rng.choice(TRIGGERS) if outcome != "contained" else None,
                started_at=started.isoformat(),
                ended_at=ended.isoformat(),
                total_seconds=rng.uniform(30, 900) + 1e6 * (i == 7),  # one far outlier
                ai_calls=calls,
                ai_failures=rng.randint(0, calls),
                ai_latency_ms_total=latency_total,
                cost_usd=round(rng.uniform(0.001, 0.05), 6),
                csat=rng.choice((None, None, 1, 2, 3, 4, 5)),
            )
        )
    return records


def window(facts: list[InteractionFacts], since: datetime) -> list[InteractionFacts]:
    return [f for f in facts if since <= parse_utc(f.started_at) < UNTIL]


def same(sql: Any, python: Any, where: str = "") -> None:
    """Equal, except floats to 1e-9 relative (sums in another order differ in the last bits)."""
    if isinstance(python, dict):
        assert sql.keys() == python.keys(), where
        for key in python:
            same(sql[key], python[key], f"{where}.{key}")
    elif isinstance(python, list):
        assert len(sql) == len(python), where
        for index, (a, b) in enumerate(zip(sql, python, strict=True)):
            same(a, b, f"{where}[{index}]")
    elif isinstance(python, float):
        assert sql == pytest.approx(python, rel=1e-9, abs=1e-12), where
    else:
        assert sql == python, where


def saved(store: Store, records: list[RecordInteraction]) -> list[InteractionFacts]:
    for record in records:
        store.record_interaction(record)
    return [record.facts for record in records]


def test_sql_aggregate_equals_the_python_aggregation(store: Store) -> None:
    facts = saved(store, random_records(seed=6))
    endpoints = [CANARY, PRODUCTION, "care-bot:never-called"]
    metrics, steps = store.observe_versions(endpoints, SINCE, UNTIL, STEP_SINCE)
    expected = {key: version_metrics(key, window(facts, SINCE)) for key in endpoints}
    assert expected[CANARY].interactions > 20 and expected[CANARY].escalations
    assert any(m.latency_histogram[-1] for m in expected.values())  # beyond the last edge
    for key in endpoints:
        same(metrics[key].model_dump(), expected[key].model_dump(), key)
    in_step = window(facts, STEP_SINCE)
    assert steps == {key: sum(f.ai_endpoint == key for f in in_step) for key in endpoints}

    template = AnalysisTemplate()
    baseline = merge_metrics([metrics[PRODUCTION]])
    python_baseline = merge_metrics([expected[PRODUCTION]])
    for looks in (1, 5):
        from_sql = analyse(metrics[CANARY], baseline, template, looks, step_index=2, at="t")
        from_python = analyse(
            expected[CANARY], python_baseline, template, looks, step_index=2, at="t"
        )
        same(from_sql.model_dump(), from_python.model_dump(), "analysis")

    by_version = {"2026.10": metrics[PRODUCTION], "2026.11": metrics[CANARY]}
    python_by_version = {"2026.10": expected[PRODUCTION], "2026.11": expected[CANARY]}
    split = {"2026.10": 50.0, "2026.11": 50.0}
    config = ABTestConfig(min_sample_per_arm=10)
    report = ab_report(by_version, "2026.10", split, config, "t")
    same(
        report.model_dump(),
        ab_report(python_by_version, "2026.10", split, config, "t").model_dump(),
        "ab",
    )


def test_an_empty_window_gives_empty_metrics(store: Store) -> None:
    saved(store, random_records(seed=1)[:10])
    later = UNTIL + timedelta(days=1)
    metrics, steps = store.observe_versions([CANARY], later, step_since=later)
    assert metrics == {CANARY: VersionMetrics(endpoint=CANARY)}
    assert metrics[CANARY] == version_metrics(CANARY, [])
    assert steps == {CANARY: 0}

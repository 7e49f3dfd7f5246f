"""The Prometheus alert rules in docker/prometheus/alerts.yml name only metrics that exist.

promtool is not installed here, so the rules are parsed as YAML and each expression's metric
names are extracted and cross-checked: ``warmline_*`` against the families ``WarmlineMetrics``
registers (runtime/metrics.py), ``temporal_*`` against the SDK metrics Warmline relies on
(runtime/sdk_metrics.py, whose own test scrapes a real worker for them). A typo, a renamed
metric or a missing suffix would leave an alert that can never fire; here it fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from runtime.metrics import WarmlineMetrics
from runtime.sdk_metrics import RELIED_ON

DOCKER = Path(__file__).resolve().parents[2] / "docker"
REQUIRED_ALERTS = {
    "WarmlineBreakerOpen",
    "WarmlineContainmentDrop",
    "WarmlineHumanQueueWait",
    "WarmlineWorkflowTaskFailures",
    "WarmlineWorkflowTaskScheduleToStart",
}
# PromQL words that look like metric names: functions, aggregations, keywords.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "histogram_quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "abs", "clamp_min", "clamp_max", "absent", "time", "vector", "scalar",
}  # fmt: skip
# Series every scrape target has.
PROMETHEUS_SERIES = {"up"}


def rules() -> list[dict[str, Any]]:
    config = yaml.safe_load((DOCKER / "prometheus/alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in config["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """Identifiers of an expression that name series (label matchers, grouping label lists,
    strings, durations and numbers removed)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return words - PROMQL_WORDS


def warmline_series() -> set[str]:
    registry = CollectorRegistry()
    WarmlineMetrics(registry)
    names = set()
    for family in registry.collect():
        names |= {sample.name for sample in family.samples} or {family.name}
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count")}
        names.add(family.name)
    return names


def sdk_series() -> set[str]:
    return {f"{name}{suffix}" for name in RELIED_ON for suffix in ("", "_bucket", "_sum", "_count")}


def test_the_issue_s_alerts_are_all_there() -> None:
    assert {rule["alert"] for rule in rules()} >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rule_names_only_recorded_metrics(rule: dict[str, Any]) -> None:
    names = metric_names(rule["expr"])
    assert names, "an alert must read at least one metric"
    unknown = names - warmline_series() - sdk_series() - PROMETHEUS_SERIES
    assert not unknown, f"{rule['alert']} reads metrics nobody records: {sorted(unknown)}"


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rule_is_complete(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    # Balanced brackets: the cheapest syntax check short of promtool.
    for opening, closing in ("()", "{}", "[]"):
        assert rule["expr"].count(opening) == rule["expr"].count(closing)


def test_extraction_sees_through_matchers_and_grouping() -> None:
    expr = 'sum by (le, task_queue) (rate(temporal_x_bucket{segment="a b"}[5m])) > 0.5 and up'
    assert metric_names(expr) == {"temporal_x_bucket", "up"}


def test_prometheus_loads_the_rules_compose_mounts() -> None:
    config = yaml.safe_load((DOCKER / "prometheus/prometheus.yml").read_text(encoding="utf-8"))
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    mounts = dict(v.split(":")[:2] for v in compose["services"]["prometheus"]["volumes"])
    assert config["rule_files"] == [mounts["./prometheus/alerts.yml"]]

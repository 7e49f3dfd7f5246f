"""The dashboards only query what ``runtime.metrics`` really exposes, and their layout is sound.

A typo in a metric or label name would not fail anywhere else: Grafana just shows "No data".
So every PromQL expression is parsed here and checked against a fresh registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dashboards.builder import GRID_COLUMNS, JSON, Panel, interval_variable, layout, row, stat
from dashboards.builder import Target as BuilderTarget
from dashboards.definitions import (
    DASHBOARD_UIDS,
    INFRA_UID,
    QUALITY_UID,
    WFM_UID,
    all_dashboards,
)
from dashboards.push import export_dashboards, render
from runtime.metrics import WarmlineMetrics

METRIC_RE = re.compile(r"\b(warmline_[a-z0-9_]+)(\{[^}]*\})?")
MATCHER_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
CLAUSE_RE = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")
LEGEND_RE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def exposed_series() -> dict[str, frozenset[str]]:
    """Series name -> label names, read from a fresh registry holding only Warmline metrics."""
    registry = CollectorRegistry()
    metrics = WarmlineMetrics(registry)
    labels: dict[str, frozenset[str]] = {}
    families = {family.name: family.type for family in registry.collect()}
    for metric in vars(metrics).values():
        if not isinstance(metric, Counter | Gauge | Histogram):
            continue
        name, names = metric._name, frozenset(metric._labelnames)
        kind = families[name]
        if kind == "counter":
            labels[f"{name}_total"] = names
        elif kind == "gauge":
            labels[name] = names
        elif kind == "histogram":
            labels[f"{name}_bucket"] = names | {"le"}
            labels[f"{name}_sum"] = names
            labels[f"{name}_count"] = names
    assert labels, "WarmlineMetrics registered nothing"
    return labels


SERIES = exposed_series()


def panels(model: JSON) -> Iterator[JSON]:
    for panel in model["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(model: JSON) -> Iterator[tuple[str, str, str]]:
    """(where, expr, legend) for every panel target and query variable."""
    for panel in panels(model):
        for target in panel.get("targets", []):
            yield f"{model['uid']} / {panel['title']}", target["expr"], target["legendFormat"]
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":
            yield f"{model['uid']} / ${variable['name']}", variable["query"], ""


ALL_QUERIES = [q for model in all_dashboards() for q in queries(model)]


def test_the_three_views_have_stable_uids() -> None:
    assert DASHBOARD_UIDS == ("warmline-infra", "warmline-quality", "warmline-wfm")
    assert [d["uid"] for d in all_dashboards()] == [INFRA_UID, QUALITY_UID, WFM_UID]
    assert all(d["uid"] == uid for d, uid in zip(all_dashboards(), DASHBOARD_UIDS, strict=True))


def test_dashboards_are_deterministic() -> None:
    assert [render(d) for d in all_dashboards()] == [render(d) for d in all_dashboards()]


@pytest.mark.parametrize(("where", "expr", "legend"), ALL_QUERIES)
def test_every_query_uses_only_exposed_metrics_and_labels(
    where: str, expr: str, legend: str
) -> None:
    used = METRIC_RE.findall(expr)
    assert used, f"{where}: no warmline metric in {expr!r}"
    available: set[str] = {"le"}
    for name, selector in used:
        assert name in SERIES, f"{where}: {name} is not exposed by WarmlineMetrics"
        available |= SERIES[name]
        for label in MATCHER_RE.findall(selector):
            assert label in SERIES[name], f"{where}: {name} has no label {label!r}"
    for clause in CLAUSE_RE.findall(expr):
        for label in filter(None, (x.strip() for x in clause.split(","))):
            assert label in available, f"{where}: grouping by unknown label {label!r}"
    for label in LEGEND_RE.findall(legend):
        assert label in available, f"{where}: legend uses unknown label {label!r}"
    assert expr.count("(") == expr.count(")"), f"{where}: unbalanced parentheses"


def test_every_metric_appears_on_some_dashboard() -> None:
    """A metric no view shows is either dead code or a missing panel."""

    def family(series: str) -> str:
        return re.sub(r"_(total|bucket|sum|count)$", "", series)

    shown = {family(name) for _, expr, _ in ALL_QUERIES for name, _ in METRIC_RE.findall(expr)}
    unseen = {family(series) for series in SERIES} - shown
    assert not unseen, f"metrics without a panel: {sorted(unseen)}"


@pytest.mark.parametrize("model", all_dashboards(), ids=lambda d: d["uid"])
def test_layout_is_valid(model: JSON) -> None:
    ids = [p["id"] for p in panels(model)]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels(model):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= GRID_COLUMNS, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


@pytest.mark.parametrize("model", all_dashboards(), ids=lambda d: d["uid"])
def test_every_panel_uses_the_datasource_variable(model: JSON) -> None:
    variables = [v["name"] for v in model["templating"]["list"]]
    assert variables[0] == "datasource"
    for panel in panels(model):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
    used_vars = {m for _, expr, _ in queries(model) for m in re.findall(r"\$(\w+)", expr)}
    assert used_vars - {"__rate_interval", "__range", "__interval"} <= set(variables)


def test_wfm_volume_bars_are_bucketed_by_the_planning_interval() -> None:
    wfm = next(d for d in all_dashboards() if d["uid"] == WFM_UID)
    volume = next(p for p in panels(wfm) if p["title"] == "Closed volume by pool per interval")
    assert volume["interval"] == "$interval"
    assert "[$interval]" in volume["targets"][0]["expr"]
    interval = next(v for v in wfm["templating"]["list"] if v["name"] == "interval")
    assert interval["query"] == "15m,30m,1h"


def test_layout_flows_and_wraps() -> None:
    target = [BuilderTarget("warmline_breaker_state")]
    placed = layout(
        [
            row("a"),
            stat("one", target, width=16, height=4),
            stat("two", target, width=16, height=6),
            row("b"),
            stat("three", target, width=8, height=4),
        ]
    )
    positions = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in placed]
    assert positions == [(0, 0), (0, 1), (0, 5), (0, 11), (0, 12)]


def test_builder_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="width"):
        Panel(body={}, width=25, height=1)
    with pytest.raises(ValueError, match="no query"):
        stat("empty", [])
    with pytest.raises(ValueError, match="default"):
        interval_variable("interval", ["15m"], "1h")


def test_export_writes_valid_json(tmp_path: Path) -> None:
    written = export_dashboards(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(f"{uid}.json" for uid in DASHBOARD_UIDS)
    for path in written:
        model = json.loads(path.read_text(encoding="utf-8"))
        assert model["uid"] == path.stem
        assert model["panels"]

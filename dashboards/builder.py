"""Tiny typed helpers that produce Grafana dashboard JSON models.

Dashboards are code so that every PromQL expression can be checked against the metrics that
``runtime.metrics`` really defines, and so that a change to a panel is a reviewable diff rather
than an exported blob. Only the handful of Grafana features the three Warmline views use are
modelled; everything else keeps Grafana's defaults.

Panels are declared with a size but no position; ``dashboard()`` flows them left to right over
Grafana's 24-column grid, so reordering panels never means recomputing coordinates by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]

GRID_COLUMNS: Final = 24
SCHEMA_VERSION: Final = 39
DATASOURCE_VARIABLE: Final = "datasource"
# Every panel and query variable resolves its datasource through the template variable, so the
# same JSON works against whichever Prometheus a Grafana instance has (provisioned or not).
DATASOURCE: Final[Mapping[str, str]] = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
DASHBOARD_TAG: Final = "warmline"


@dataclass(frozen=True)
class Target:
    """One PromQL query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False

    def to_json(self, ref_id: str) -> JSON:
        return {
            "datasource": dict(DATASOURCE),
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "instant": self.instant,
            "refId": ref_id,
        }


@dataclass(frozen=True)
class Step:
    """A threshold step: from ``value`` upwards the colour is ``color`` (``None`` = base)."""

    color: str
    value: float | None = None


@dataclass(frozen=True)
class Panel:
    """A panel before layout: everything but its id and grid position."""

    body: JSON
    width: int
    height: int
    is_row: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.width <= GRID_COLUMNS:
            raise ValueError(f"panel width must be 1..{GRID_COLUMNS}, got {self.width}")


@dataclass(frozen=True)
class ValueMapping:
    """A value mapping: show ``text`` in ``color`` when the value equals ``value``."""

    value: int
    text: str
    color: str


@dataclass(frozen=True)
class FieldStyle:
    """Field defaults shared by all panel kinds (unit, range, thresholds, mappings)."""

    unit: str = "short"
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    steps: tuple[Step, ...] = (Step("green"),)
    mappings: tuple[ValueMapping, ...] = ()
    custom: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        defaults: JSON = {
            "unit": self.unit,
            "thresholds": {
                "mode": "absolute",
                "steps": [{"color": s.color, "value": s.value} for s in self.steps],
            },
            "mappings": [_mapping_json(m) for m in self.mappings],
        }
        for key, value in (("min", self.min), ("max", self.max), ("decimals", self.decimals)):
            if value is not None:
                defaults[key] = value
        if self.custom:
            defaults["custom"] = self.custom
        return {"defaults": defaults, "overrides": []}


def _mapping_json(mapping: ValueMapping) -> JSON:
    return {
        "type": "value",
        "options": {str(mapping.value): {"text": mapping.text, "color": mapping.color}},
    }


def _panel(
    kind: str,
    title: str,
    targets: Sequence[Target],
    style: FieldStyle,
    options: JSON,
    *,
    description: str,
    width: int,
    height: int,
    min_interval: str | None = None,
) -> Panel:
    if not targets:
        raise ValueError(f"panel {title!r} has no query")
    body: JSON = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "targets": [t.to_json(chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": style.to_json(),
        "options": options,
    }
    if min_interval:
        # WFM panels bucket by the planning interval; Grafana must not query a finer step.
        body["interval"] = min_interval
    return Panel(body=body, width=width, height=height)


def _reduce_options(calcs: str = "lastNotNull") -> JSON:
    return {"calcs": [calcs], "fields": "", "values": False}


def timeseries(
    title: str,
    targets: Sequence[Target],
    *,
    description: str = "",
    style: FieldStyle | None = None,
    width: int = 12,
    height: int = 8,
    stack: bool = False,
    bars: bool = False,
    step_line: bool = False,
    threshold_lines: bool = False,
    min_interval: str | None = None,
) -> Panel:
    """A graph over time; ``bars`` draws one bar per step (one per WFM interval if set)."""
    style = style or FieldStyle()
    custom: JSON = {
        "drawStyle": "bars" if bars else "line",
        "lineInterpolation": "stepAfter" if step_line else "linear",
        "fillOpacity": 80 if bars else 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "thresholdsStyle": {"mode": "line" if threshold_lines else "off"},
        **style.custom,
    }
    style = FieldStyle(
        unit=style.unit,
        min=style.min,
        max=style.max,
        decimals=style.decimals,
        steps=style.steps,
        mappings=style.mappings,
        custom=custom,
    )
    options: JSON = {
        "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel(
        "timeseries",
        title,
        targets,
        style,
        options,
        description=description,
        width=width,
        height=height,
        min_interval=min_interval,
    )


def stat(
    title: str,
    targets: Sequence[Target],
    *,
    description: str = "",
    style: FieldStyle | None = None,
    width: int = 6,
    height: int = 4,
    color_mode: str = "background",
) -> Panel:
    """A single current value per series, coloured by its thresholds or mappings."""
    options: JSON = {
        "reduceOptions": _reduce_options(),
        "colorMode": color_mode,
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "auto",
    }
    return _panel(
        "stat",
        title,
        targets,
        style or FieldStyle(),
        options,
        description=description,
        width=width,
        height=height,
    )


def gauge(
    title: str,
    targets: Sequence[Target],
    *,
    description: str = "",
    style: FieldStyle | None = None,
    width: int = 6,
    height: int = 6,
) -> Panel:
    """A dial against a known maximum (utilization, rates in 0..1)."""
    options: JSON = {
        "reduceOptions": _reduce_options(),
        "showThresholdLabels": False,
        "showThresholdMarkers": True,
    }
    return _panel(
        "gauge",
        title,
        targets,
        style or FieldStyle(),
        options,
        description=description,
        width=width,
        height=height,
    )


def bar_gauge(
    title: str,
    targets: Sequence[Target],
    *,
    description: str = "",
    style: FieldStyle | None = None,
    width: int = 8,
    height: int = 8,
) -> Panel:
    """Horizontal bars, one per series: a ranking (reasons, intents, pools) at a glance."""
    options: JSON = {
        "reduceOptions": _reduce_options(),
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
        "valueMode": "color",
    }
    return _panel(
        "bargauge",
        title,
        targets,
        style or FieldStyle(),
        options,
        description=description,
        width=width,
        height=height,
    )


def row(title: str) -> Panel:
    """A full-width section header; the panels after it start on a new line."""
    body: JSON = {"type": "row", "title": title, "collapsed": False, "panels": []}
    return Panel(body=body, width=GRID_COLUMNS, height=1, is_row=True)


# -- template variables -----------------------------------------------------------------------


def datasource_variable() -> JSON:
    return {
        "type": "datasource",
        "name": DATASOURCE_VARIABLE,
        "label": "Data source",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


def query_variable(name: str, label: str, query: str, *, multi: bool = True) -> JSON:
    """Values of a label (``label_values(metric, label)``), with an "All" option matching ``.*``."""
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": dict(DATASOURCE),
        "definition": query,
        # The plain-string form: every Grafana version since 7 reads it (newer ones migrate it).
        "query": query,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }


def interval_variable(name: str, values: Sequence[str], default: str) -> JSON:
    """A fixed choice of intervals (e.g. the WFM planning intervals)."""
    if default not in values:
        raise ValueError(f"default {default!r} is not one of {list(values)}")
    return {
        "type": "interval",
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "query": ",".join(values),
        "current": {"selected": True, "text": default, "value": default},
        "options": [
            {"selected": value == default, "text": value, "value": value} for value in values
        ],
        "auto": False,
        "hide": 0,
        "refresh": 2,
    }


# -- dashboard --------------------------------------------------------------------------------


def layout(panels: Sequence[Panel]) -> list[JSON]:
    """Give panels ids and grid positions, flowing left to right and wrapping at 24 columns."""
    placed: list[JSON] = []
    x = y = line_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        if panel.is_row or x + panel.width > GRID_COLUMNS:
            y += line_height
            x = line_height = 0
        body = dict(panel.body)
        body["id"] = panel_id
        body["gridPos"] = {"x": x, "y": y, "w": panel.width, "h": panel.height}
        placed.append(body)
        x += panel.width
        line_height = max(line_height, panel.height)
        if panel.is_row:
            y += panel.height
            x = line_height = 0
    return placed


def dashboard(
    uid: str,
    title: str,
    panels: Sequence[Panel],
    *,
    description: str,
    tags: Sequence[str] = (),
    variables: Sequence[JSON] = (),
    refresh: str = "30s",
    time_from: str = "now-6h",
) -> JSON:
    """A complete dashboard model, ready for ``POST /api/dashboards/db`` or file provisioning."""
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [DASHBOARD_TAG, *tags],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": [datasource_variable(), *variables]},
        "annotations": {"list": []},
        # Cross-links between the three views, found by their shared tag.
        "links": [
            {
                "type": "dashboards",
                "tags": [DASHBOARD_TAG],
                "asDropdown": True,
                "title": "Warmline",
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "panels": layout(panels),
    }

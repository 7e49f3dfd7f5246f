"""The three Warmline dashboards: infrastructure, quality and WFM.

Each view answers one audience's questions (platform engineers; contact-centre quality; WFM
analysts and real-time managers) and lives in its own module. All numbers are derived in
PromQL from the counters, histograms and gauges of ``runtime.metrics``; rates are computed in
the query, never in the process, so they stay correct however many worker replicas
Prometheus scrapes.

Aggregation rules that follow from having many replicas:
- counters and histograms are ``sum``-med across instances;
- gauges that every worker reports about one shared thing (breaker state, queue length,
  capacity) use ``max`` so N replicas do not multiply the value; in-flight calls are per
  process and therefore summed.
"""

from __future__ import annotations

from typing import Final

from dashboards.builder import JSON
from dashboards.infrastructure import INFRA_UID, infrastructure
from dashboards.quality import QUALITY_UID, quality
from dashboards.wfm import WFM_UID, wfm

DASHBOARD_UIDS: Final = (INFRA_UID, QUALITY_UID, WFM_UID)

__all__ = [
    "DASHBOARD_UIDS",
    "INFRA_UID",
    "QUALITY_UID",
    "WFM_UID",
    "all_dashboards",
    "infrastructure",
    "quality",
    "wfm",
]


def all_dashboards() -> list[JSON]:
    """Every dashboard, in a stable order (export file names and push order follow it)."""
    return [infrastructure(), quality(), wfm()]

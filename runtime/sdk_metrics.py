"""Temporal SDK runtime metrics of a worker process, on their own Prometheus endpoint.

The SDK's core (Rust) records what only it can see: how long tasks wait before a worker picks
them up (schedule-to-start), how many task slots are in use, and how the sticky workflow cache
behaves. Its Prometheus exporter serves them on ``WARMLINE_METRICS_HOST:WARMLINE_TEMPORAL_
METRICS_PORT``, next to Warmline's own ``/metrics`` on ``WARMLINE_METRICS_PORT``; both are
scraped from every worker replica (``docker/prometheus/prometheus.yml``). Durations are
exported in seconds, as Prometheus convention has it.

The names below are the ones alert rules and ``bench/scale`` read; ``tests/runtime/
test_sdk_metrics.py`` scrapes a real worker and fails if the SDK stops exporting any of them.
"""

from __future__ import annotations

import re
from typing import Final

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from runtime.settings import Settings

PREFIX: Final = "temporal_"
WORKFLOW_TASK_SCHEDULE_TO_START: Final = "temporal_workflow_task_schedule_to_start_latency"
ACTIVITY_SCHEDULE_TO_START: Final = "temporal_activity_schedule_to_start_latency"
WORKFLOW_TASK_FAILED: Final = "temporal_workflow_task_execution_failed"
STICKY_CACHE_HIT: Final = "temporal_sticky_cache_hit"
STICKY_CACHE_EVICTED: Final = "temporal_sticky_cache_total_forced_eviction"
STICKY_CACHE_SIZE: Final = "temporal_sticky_cache_size"
TASK_SLOTS_AVAILABLE: Final = "temporal_worker_task_slots_available"
TASK_SLOTS_USED: Final = "temporal_worker_task_slots_used"
# Histograms: every workflow task, and those that had to replay history (not in the cache).
WORKFLOW_TASK_EXECUTION: Final = "temporal_workflow_task_execution_latency"
WORKFLOW_TASK_REPLAY: Final = "temporal_workflow_task_replay_latency"

RELIED_ON: Final = frozenset(
    {
        WORKFLOW_TASK_SCHEDULE_TO_START,
        ACTIVITY_SCHEDULE_TO_START,
        WORKFLOW_TASK_FAILED,
        STICKY_CACHE_HIT,
        STICKY_CACHE_EVICTED,
        STICKY_CACHE_SIZE,
        TASK_SLOTS_AVAILABLE,
        TASK_SLOTS_USED,
        WORKFLOW_TASK_EXECUTION,
        WORKFLOW_TASK_REPLAY,
    }
)


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting SDK metrics, or ``None`` when the port setting is 0.

    One per process: create it before the worker's client and pass it to ``connect``.
    """
    if not settings.temporal_metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
    config = PrometheusConfig(bind_address=address, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=config))


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_samples(exposition: str) -> dict[str, float]:
    """Sum every sample of a Prometheus text exposition by metric name (labels dropped).

    Enough for the counters and gauges Warmline reads back (bench/scale, tests); histograms
    appear as their ``_bucket``/``_sum``/``_count`` series.
    """
    totals: dict[str, float] = {}
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            name, value = match.group(1), float(match.group(3))
            totals[name] = totals.get(name, 0.0) + value
    return totals

"""``decide_endpoint``: one endpoint's fleet-wide decision from the merged windows, no I/O."""

from __future__ import annotations

from models.health import WFM_EVENTS_STREAM, WfmCapacityEvent
from models.routing import EndpointRole
from runtime.fleet_health import ProbeResult
from runtime.health_merge import MergeContext, decide_endpoint, fallbacks_from, profiles_from
from store.health import SharedBreaker, WindowFlush
from warmline.breaker import BreakerConfig
from warmline.default_config import default_routing_config
from warmline.health import CallKind, EndpointWindows, OutcomeSample

NOW = 1_800_000_000.0
KEY = ("care-bot", "2026.10")
ROUTING = default_routing_config("http://fleet")


def window(
    worker: str,
    ok: int = 0,
    failed: int = 0,
    active: int = 0,
    revision: int = 0,
    outcomes: dict[str, tuple[int, int]] | None = None,
) -> WindowFlush:
    w = EndpointWindows()
    for i in range(ok):
        w.record_call(NOW - 5 + i * 0.01, CallKind.OK, 200.0)
    for i in range(failed):
        w.record_call(NOW - 1 + i * 0.01, CallKind.SERVER_ERROR, 5.0)
    for intent, (total, contained) in (outcomes or {}).items():
        for i in range(total):
            w.record_outcome(OutcomeSample(NOW - 2, contained=i < contained, intent=intent))
    return WindowFlush(worker, *KEY, revision, w.total(NOW).to_json(), active, NOW)


def context(*windows: WindowFlush, **kw: object) -> MergeContext:
    base: dict[str, object] = {
        "worker_id": "w1",
        "now": NOW,
        "config": BreakerConfig(),
        "windows": list(windows),
        "profiles": profiles_from(ROUTING),
        "fallbacks": fallbacks_from(ROUTING),
        "human_load": lambda: (40.0, 300.0),
    }
    return MergeContext(**(base | kw))  # type: ignore[arg-type]


def wfm(change: object) -> list[WfmCapacityEvent]:
    events = getattr(change, "events", [])
    return [
        WfmCapacityEvent.model_validate(e.payload) for e in events if e.stream == WFM_EVENTS_STREAM
    ]


def test_nothing_to_change_writes_nothing() -> None:
    assert decide_endpoint(None, KEY, context(window("w1", ok=20, active=5))) is None
    row = SharedBreaker(*KEY, revision=2, since=NOW - 100)
    assert decide_endpoint(row, KEY, context(window("w1", failed=9, revision=1))) is None, (
        "windows from an older revision are not this state's evidence"
    )


def test_stress_caps_sessions_and_tells_wfm_about_the_capped_throughput() -> None:
    busy = context(window("w1", ok=30, active=100), window("w2", ok=30, active=70))
    change = decide_endpoint(None, KEY, busy)
    assert change is not None and change.breaker.state == "closed"
    assert change.breaker.degradation is not None
    assert change.breaker.degradation["level"] == "stressed"
    assert change.breaker.degradation["restriction"]["max_sessions"] == 136  # 80% of 170
    assert [e.kind for e in change.events] == ["degradation_applied", "wfm_capacity_event"]
    (event,) = wfm(change)
    assert event.kind == "throughput_drop" and event.base_human_volume_per_interval == 40.0
    assert event.human_aht_seconds == 300.0


def test_a_degraded_endpoints_event_counts_only_the_shed_intents() -> None:
    outcomes = {"password_reset": (10, 8), "refund_request": (10, 0), "billing_inquiry": (10, 0)}
    change = decide_endpoint(None, KEY, context(window("w1", ok=30, outcomes=outcomes)))
    assert change is not None and change.breaker.state == "degraded"
    kept = change.breaker.degradation["restriction"]["allowed_intents"]  # type: ignore[index]
    # Observed containment decides: password_reset (80%) falls below the 85% bar to keep.
    assert "store_hours" in kept and not {"password_reset", "billing_inquiry"} & set(kept)
    (event,) = wfm(change)
    assert (event.from_state, event.to_state) == ("closed", "degraded")
    assert any("containment" in r for r in event.reasons)
    # None of the intents seen in the window stays with the AI: all their volume moves.
    assert event.extra_human_volume_per_interval > 0


def test_a_healthy_fallback_version_means_no_extra_human_volume() -> None:
    fallback = ROUTING.ai_endpoints[0].model_copy(update={"version": "2026.09"})
    routing = ROUTING.model_copy(update={"ai_endpoints": [*ROUTING.ai_endpoints, fallback]})
    ctx = context(window("w1", failed=6), fallbacks=fallbacks_from(routing))
    change = decide_endpoint(None, KEY, ctx)
    assert change is not None and change.breaker.state == "open"
    (event,) = wfm(change)
    assert event.extra_human_volume_per_interval == 0.0
    shadow = fallback.model_copy(update={"role": EndpointRole.SHADOW})
    routing = ROUTING.model_copy(update={"ai_endpoints": [*ROUTING.ai_endpoints, shadow]})
    assert fallbacks_from(routing)[KEY] == [], "a shadow takes no live traffic"


def test_only_this_workers_probe_at_this_revision_decides() -> None:
    claimed = SharedBreaker(
        *KEY, state="half_open", revision=3, probe_owner="w1", probe_claimed_at=NOW - 1
    )
    first = decide_endpoint(claimed, KEY, context())  # records the outage degradation level
    assert first is not None and first.events == [] and first.breaker.state == "half_open"
    half = first.breaker
    stale = ProbeResult(*KEY, revision=2, success=True, at=NOW)
    assert decide_endpoint(half, KEY, context(probes=[stale])) is None
    mine = ProbeResult(*KEY, revision=3, success=True, at=NOW)
    change = decide_endpoint(half, KEY, context(probes=[mine]))
    assert change is not None and (change.breaker.state, change.breaker.revision) == ("closed", 4)
    other = decide_endpoint(half, KEY, context(probes=[mine], worker_id="w2"))
    assert other is None, "w2 does not own the probe"

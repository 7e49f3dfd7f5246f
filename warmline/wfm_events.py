"""WFM events as CloudEvents, and the two detectors that watch the facts for WFM.

Every event WFM receives is a CloudEvents 1.0 envelope (structured JSON mode): ``id`` is the
idempotency key (the same on every delivery attempt, and the Standard Webhooks ``webhook-id``),
``time`` is when the cause happened, so a receiver can measure how late it learned of it.
Free text is redacted before it enters an envelope (operators' reasons may quote customers).

The detectors are pure machines ``(state, observation, config) -> (state, events)``; the store
keeps one state row per detector with a compare-and-set, so however many workers observe, one
episode yields one event fleet-wide:

- **containment drop**: AI containment over the last 5 minutes (closed interactions an AI took
  part in) against the hour before it; fires when it falls by ``drop_points`` or more (the
  reference's 85% -> 78% within 30 minutes is 7 points), names the intents that moved most,
  and clears when containment is back within ``recover_points`` of the baseline.
- **escalation spike**: AI-to-human escalations per minute over the last 5 minutes against the
  hour before; fires at ``spike_factor`` times the baseline rate, with the triggers that grew.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from warmline.redaction import redact_value

SPEC_VERSION: Final = "1.0"
TYPE_PREFIX: Final = "com.warmline.wfm."
CAPACITY_CHANGED: Final = TYPE_PREFIX + "capacity_changed"
CONTAINMENT_DROPPED: Final = TYPE_PREFIX + "containment_dropped"
CONTAINMENT_RECOVERED: Final = TYPE_PREFIX + "containment_recovered"
ESCALATION_SPIKE: Final = TYPE_PREFIX + "escalation_spike"
ESCALATION_SPIKE_ENDED: Final = TYPE_PREFIX + "escalation_spike_ended"
FLEET_EVENT_PREFIX: Final = TYPE_PREFIX
"""Fleet WFM events (failover to humans, A/B blended containment) keep their kind as suffix."""


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


def cloud_event(
    *,
    event_type: str,
    event_id: str,
    source: str,
    occurred_at: float,
    data: dict[str, Any],
    subject: str | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode envelope; ``data`` is redacted."""
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": iso(occurred_at),
        "datacontenttype": "application/json",
        "data": redact_value(data),
    }
    if subject:
        envelope["subject"] = subject
    return envelope


# -- the detectors ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertConfig:
    window_seconds: float = 300.0
    baseline_seconds: float = 3600.0
    drop_points: float = 0.05
    recover_points: float = 0.02
    min_window: int = 20
    """AI interactions (or escalations) the 5-minute window needs before it is judged."""
    min_baseline: int = 50
    spike_factor: float = 2.0
    top_movers: int = 5


@dataclass(frozen=True)
class AlertState:
    """One detector's shared state (a store row)."""

    active: bool = False
    episode: int = 0
    since: float = 0.0
    baseline: float | None = None


@dataclass(frozen=True)
class Counts:
    """Per key (intent or trigger): (part, whole); for escalations the whole is unused."""

    by_key: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def part(self) -> int:
        return sum(p for p, _ in self.by_key.values())

    @property
    def whole(self) -> int:
        return sum(w for _, w in self.by_key.values())


@dataclass(frozen=True)
class Observation:
    now: float
    window: Counts
    baseline: Counts


@dataclass(frozen=True)
class Alert:
    event_type: str
    event_id: str
    data: dict[str, Any]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _intents_that_moved(obs: Observation, top: int) -> list[dict[str, Any]]:
    """Intents ranked by how much of the drop they explain: window share x rate change."""
    total = obs.window.whole
    moved: list[dict[str, Any]] = []
    for intent, (contained, handled) in obs.window.by_key.items():
        base = obs.baseline.by_key.get(intent)
        now = _rate(contained, handled)
        before = _rate(*base) if base else None
        if now is None or before is None or now >= before:
            continue
        moved.append(
            {
                "intent": intent,
                "containment_before": round(before, 4),
                "containment_now": round(now, 4),
                "interactions_now": handled,
                "share_of_drop": round(handled / total * (before - now), 4),
            }
        )
    moved.sort(key=lambda m: (-float(m["share_of_drop"]), str(m["intent"])))
    return moved[:top]


def containment_step(
    state: AlertState, obs: Observation, config: AlertConfig
) -> tuple[AlertState, list[Alert]]:
    """Fire on a drop of ``drop_points`` against the baseline; clear on recovery."""
    now_rate = _rate(obs.window.part, obs.window.whole)
    base_rate = _rate(obs.baseline.part, obs.baseline.whole)
    if (
        now_rate is None
        or base_rate is None
        or obs.window.whole < config.min_window
        or obs.baseline.whole < config.min_baseline
    ):
        return state, []
    minutes = round(config.window_seconds / 60)
    body: dict[str, Any] = {
        "window_minutes": minutes,
        "baseline_minutes": round(config.baseline_seconds / 60),
        "containment_now": round(now_rate, 4),
        "containment_baseline": round(base_rate, 4),
        "drop_points": round(base_rate - now_rate, 4),
        "ai_interactions_now": obs.window.whole,
        "ai_interactions_baseline": obs.baseline.whole,
    }
    if not state.active and base_rate - now_rate >= config.drop_points:
        episode = state.episode + 1
        body["intents_that_moved"] = _intents_that_moved(obs, config.top_movers)
        body["what_changed"] = (
            f"AI containment {base_rate:.0%} -> {now_rate:.0%} over the last {minutes} minutes "
            f"({(base_rate - now_rate) * 100:.1f} points); more human-bound volume ahead"
        )
        new = AlertState(active=True, episode=episode, since=obs.now, baseline=base_rate)
        return new, [Alert(CONTAINMENT_DROPPED, f"containment-drop-{episode}", body)]
    reference = state.baseline if state.baseline is not None else base_rate
    if state.active and now_rate >= reference - config.recover_points:
        body["containment_baseline"] = round(reference, 4)
        body["what_changed"] = f"AI containment back to {now_rate:.0%} (baseline {reference:.0%})"
        body["drop_started_at"] = iso(state.since)
        new = replace(state, active=False, since=obs.now)
        return new, [Alert(CONTAINMENT_RECOVERED, f"containment-recovered-{state.episode}", body)]
    return state, []


def escalation_step(
    state: AlertState, obs: Observation, config: AlertConfig
) -> tuple[AlertState, list[Alert]]:
    """Fire when escalations per minute reach ``spike_factor`` x the baseline rate."""
    window_min = config.window_seconds / 60
    baseline_min = config.baseline_seconds / 60
    now_rate = obs.window.part / window_min
    base_rate = obs.baseline.part / baseline_min
    if obs.baseline.part < config.min_baseline or base_rate <= 0:
        return state, []
    body: dict[str, Any] = {
        "window_minutes": round(window_min),
        "escalations_per_minute_now": round(now_rate, 3),
        "escalations_per_minute_baseline": round(base_rate, 3),
    }
    if (
        not state.active
        and obs.window.part >= config.min_window
        and now_rate >= config.spike_factor * base_rate
    ):
        episode = state.episode + 1
        grew: list[dict[str, Any]] = []
        for trigger, (count, _) in obs.window.by_key.items():
            before = obs.baseline.by_key.get(trigger, (0, 0))[0] / baseline_min
            if count / window_min > before:
                grew.append(
                    {
                        "trigger": trigger,
                        "per_minute_now": round(count / window_min, 3),
                        "per_minute_baseline": round(before, 3),
                    }
                )
        grew.sort(
            key=lambda g: (float(g["per_minute_baseline"]) - g["per_minute_now"], g["trigger"])
        )
        body["triggers_that_grew"] = grew[: config.top_movers]
        body["what_changed"] = (
            f"AI-to-human escalations at {now_rate:.1f}/min, {now_rate / base_rate:.1f}x the "
            f"last hour's {base_rate:.1f}/min"
        )
        new = AlertState(active=True, episode=episode, since=obs.now, baseline=base_rate)
        return new, [Alert(ESCALATION_SPIKE, f"escalation-spike-{episode}", body)]
    reference = state.baseline if state.baseline is not None else base_rate
    if state.active and now_rate < config.spike_factor * reference * 0.75:
        body["what_changed"] = f"escalations back to {now_rate:.1f}/min"
        body["spike_started_at"] = iso(state.since)
        new = replace(state, active=False, since=obs.now)
        return new, [Alert(ESCALATION_SPIKE_ENDED, f"escalation-spike-ended-{state.episode}", body)]
    return state, []

"""The WFM detectors as pure machines, and the CloudEvents envelope."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warmline.wfm_events import (
    CONTAINMENT_DROPPED,
    CONTAINMENT_RECOVERED,
    ESCALATION_SPIKE,
    ESCALATION_SPIKE_ENDED,
    AlertConfig,
    AlertState,
    Counts,
    Observation,
    cloud_event,
    containment_step,
    escalation_step,
)

CONFIG = AlertConfig()
NOW = 1_800_000_000.0


def observe(
    window: dict[str, tuple[int, int]], baseline: dict[str, tuple[int, int]]
) -> Observation:
    return Observation(NOW, Counts(window), Counts(baseline))


BASELINE = {"billing": (85, 100), "order_status": (170, 200)}  # 85%


def test_the_references_drop_85_to_78_fires_once_with_the_intents_that_moved() -> None:
    # 78% now: billing fell from 85% to 70%, order_status held at 86%.
    obs = observe({"billing": (35, 50), "order_status": (43, 50)}, BASELINE)
    state, alerts = containment_step(AlertState(), obs, CONFIG)
    (alert,) = alerts
    assert alert.event_type == CONTAINMENT_DROPPED and alert.event_id == "containment-drop-1"
    assert alert.data["containment_baseline"] == 0.85 and alert.data["containment_now"] == 0.78
    assert alert.data["drop_points"] == 0.07
    moved = alert.data["intents_that_moved"]
    assert [m["intent"] for m in moved] == ["billing"]
    assert moved[0]["containment_before"] == 0.85 and moved[0]["containment_now"] == 0.7
    assert "85% -> 78%" in alert.data["what_changed"]
    assert state.active and state.episode == 1 and state.baseline == 0.85
    # Still low: the same episode says nothing more.
    again, none = containment_step(state, obs, CONFIG)
    assert none == [] and again == state


def test_recovery_clears_the_episode_and_the_next_drop_is_a_new_one() -> None:
    dropped, _ = containment_step(AlertState(), observe({"billing": (70, 100)}, BASELINE), CONFIG)
    back, alerts = containment_step(dropped, observe({"billing": (84, 100)}, BASELINE), CONFIG)
    assert [a.event_type for a in alerts] == [CONTAINMENT_RECOVERED]
    assert alerts[0].event_id == "containment-recovered-1" and not back.active
    _, second = containment_step(back, observe({"billing": (70, 100)}, BASELINE), CONFIG)
    assert second[0].event_id == "containment-drop-2"


def test_small_samples_and_small_drops_are_not_judged() -> None:
    state = AlertState()
    assert containment_step(state, observe({"billing": (5, 10)}, BASELINE), CONFIG) == (state, [])
    assert containment_step(state, observe({"billing": (81, 100)}, BASELINE), CONFIG)[1] == []
    thin = observe({"billing": (50, 100)}, {"billing": (9, 10)})
    assert containment_step(state, thin, CONFIG)[1] == []  # baseline of 10 < 50


@given(st.integers(0, 200), st.integers(1, 200), st.integers(0, 400), st.integers(1, 400))
def test_a_drop_event_always_reports_a_real_drop(
    contained: int, handled: int, base_contained: int, base_handled: int
) -> None:
    if contained > handled or base_contained > base_handled:
        return
    obs = observe({"x": (contained, handled)}, {"x": (base_contained, base_handled)})
    _, alerts = containment_step(AlertState(), obs, CONFIG)
    for alert in alerts:
        assert alert.data["containment_baseline"] - alert.data["containment_now"] >= 0.0499
        assert handled >= CONFIG.min_window and base_handled >= CONFIG.min_baseline


def test_escalation_spike_names_the_triggers_that_grew_and_ends() -> None:
    baseline = {"sentiment": (120, 120), "max_turns": (60, 60)}  # 3 per minute over 60 minutes
    spike = {"sentiment": (25, 25), "max_turns": (5, 5)}  # 6 per minute over 5 minutes
    state, alerts = escalation_step(AlertState(), observe(spike, baseline), CONFIG)
    (alert,) = alerts
    assert alert.event_type == ESCALATION_SPIKE and alert.event_id == "escalation-spike-1"
    assert alert.data["escalations_per_minute_now"] == 6.0
    assert alert.data["escalations_per_minute_baseline"] == 3.0
    assert [t["trigger"] for t in alert.data["triggers_that_grew"]] == ["sentiment"]
    calm = {"sentiment": (10, 10), "max_turns": (5, 5)}
    ended, alerts = escalation_step(state, observe(calm, baseline), CONFIG)
    assert [a.event_type for a in alerts] == [ESCALATION_SPIKE_ENDED] and not ended.active


def test_cloudevent_envelope_is_spec_shaped_and_redacted() -> None:
    envelope = cloud_event(
        event_type=CONTAINMENT_DROPPED,
        event_id="containment-drop-3",
        source="urn:warmline:prod",
        occurred_at=NOW,
        data={"reason": "mail jane.doe@example.com", "count": 3, "at": "2026-03-02T04:30:00Z"},
        subject="containment",
    )
    assert envelope == {
        "specversion": "1.0",
        "id": "containment-drop-3",
        "source": "urn:warmline:prod",
        "type": "com.warmline.wfm.containment_dropped",
        "time": "2027-01-15T08:00:00Z",
        "datacontenttype": "application/json",
        "subject": "containment",
        "data": {"reason": "mail [EMAIL]", "count": 3, "at": "2026-03-02T04:30:00Z"},
    }

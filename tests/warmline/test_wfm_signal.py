"""WFM capacity events: which changes are signalled, and the human impact they carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.health import WfmEventKind
from warmline.erlang import agents_needed
from warmline.wfm_signal import (
    SpilloverInputs,
    WfmParams,
    capacity_event,
    expected_duration,
    signal_kind,
)

PARAMS = WfmParams(interval_minutes=15, human_aht_seconds=300, target_service_level=0.8)
T0 = 1_800_000_000.0


def inputs(**kw: object) -> SpilloverInputs:
    base: dict[str, object] = {
        "event_id": "care-bot:1:r3:open",
        "name": "care-bot",
        "version": "1",
        "from_state": "closed",
        "to_state": "open",
        "detected_at": T0,
        "ai_conversations_per_second": 0.1,  # 90 per 15 minutes
        "first_failure_at": T0 - 1.5,
        "containment_rate": 0.8,
        "base_human_volume_per_interval": 60.0,
        "human_aht_seconds": 300.0,
    }
    return SpilloverInputs(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (("closed", "degraded"), WfmEventKind.BREAKER_CHANGE),
        (("closed", "open"), WfmEventKind.BREAKER_CHANGE),
        (("degraded", "open"), WfmEventKind.BREAKER_CHANGE),
        (("half_open", "closed"), WfmEventKind.CAPACITY_RESTORED),
        (("degraded", "closed"), WfmEventKind.CAPACITY_RESTORED),
        (("open", "half_open"), None),
        (("half_open", "open"), None),
    ],
)
def test_which_transitions_are_signalled(
    change: tuple[str, str], kind: WfmEventKind | None
) -> None:
    assert signal_kind(*change) is kind


def test_an_outage_moves_the_contained_ai_volume_to_humans() -> None:
    event = capacity_event(inputs(expected_duration_seconds=240.0), PARAMS)
    assert event.kind is WfmEventKind.BREAKER_CHANGE
    assert (event.from_state, event.to_state, event.endpoint) == ("closed", "open", "care-bot:1")
    assert event.ai_volume_per_interval == 90.0
    assert event.extra_human_volume_per_interval == 72.0  # 90 x 80% contained
    before = agents_needed(60, 300, 900, 0.8, 20)
    after = agents_needed(132, 300, 900, 0.8, 20)
    assert (event.agents_needed_before, event.agents_needed_after) == (before, after)
    assert event.extra_agents_needed == after - before > 0
    assert event.expected_duration_seconds == 240.0
    assert event.detected_at == datetime.fromtimestamp(T0, UTC)
    assert event.detection_latency_seconds == 1.5
    assert "72 more interactions per 15 min need a human" in event.what_changed
    assert f"{after - before} more agents hold 80%/20s" in event.what_changed


def test_degradation_moves_only_the_shed_share() -> None:
    event = capacity_event(inputs(to_state="degraded", shed_share=0.25), PARAMS)
    assert event.extra_human_volume_per_interval == 18.0
    assumed = capacity_event(inputs(to_state="degraded"), PARAMS)
    assert assumed.extra_human_volume_per_interval == 36.0
    assert any("assumed shed" in r for r in assumed.reasons)


def test_a_healthy_fallback_version_absorbs_the_volume() -> None:
    event = capacity_event(inputs(fallback_share=1.0), PARAMS)
    assert event.extra_human_volume_per_interval == 0.0 and event.extra_agents_needed == 0
    assert any("absorbed by healthy AI versions" in r for r in event.reasons)


def test_missing_measurements_fall_back_to_named_assumptions() -> None:
    event = capacity_event(inputs(containment_rate=None, human_aht_seconds=None), PARAMS)
    assert event.human_aht_seconds == 300.0
    assert event.extra_human_volume_per_interval == pytest.approx(63.0)  # 90 x 70% default
    assert any("containment assumed 70%" in r for r in event.reasons)
    assert any("AHT assumed 300 s" in r for r in event.reasons)


def test_recovery_gives_the_volume_back() -> None:
    event = capacity_event(
        inputs(from_state="half_open", to_state="closed", first_failure_at=None), PARAMS
    )
    assert event.kind is WfmEventKind.CAPACITY_RESTORED
    assert event.extra_human_volume_per_interval == -72.0
    assert event.extra_agents_needed < 0 and event.detection_latency_seconds is None
    assert "return to AI" in event.what_changed


def test_a_session_cap_is_a_throughput_drop() -> None:
    event = capacity_event(
        inputs(
            from_state="closed",
            to_state="closed",
            kind=WfmEventKind.THROUGHPUT_DROP,
            shed_share=0.2,
        ),
        PARAMS,
    )
    assert event.kind is WfmEventKind.THROUGHPUT_DROP
    assert event.extra_human_volume_per_interval == pytest.approx(14.4)
    assert "capped" in event.what_changed


def test_transitions_that_are_not_signals_are_refused() -> None:
    with pytest.raises(ValueError):
        capacity_event(inputs(from_state="open", to_state="half_open"), PARAMS)


def test_expected_duration_is_the_median_of_past_outages() -> None:
    assert expected_duration([]) is None
    assert expected_duration([30.0, 90.0, 60.0]) == 60.0
    assert expected_duration([30.0, 90.0]) == 60.0

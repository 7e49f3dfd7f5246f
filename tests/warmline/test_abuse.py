"""Abuse limits as pure decisions: counters, sliding estimates, answers, scripted repeats."""

from __future__ import annotations

import pytest

from models.abuse import (
    AbusePolicy,
    AdmissionRequest,
    CounterKey,
    CounterReading,
    LimitAnswer,
    LimitRule,
    LimitScope,
    LimitStage,
    RepeatRule,
)
from warmline.abuse import counter_keys, decide, estimate, repeat_fingerprint

POLICY = AbusePolicy(
    version=3,
    rules=[
        LimitRule(scope=LimitScope.CUSTOMER, stage=LimitStage.START, limit=2, window_seconds=60),
        LimitRule(scope=LimitScope.TENANT, stage=LimitStage.START, limit=5, window_seconds=60,
                  answer=LimitAnswer.QUEUED),
        LimitRule(scope=LimitScope.CUSTOMER, stage=LimitStage.TURN, limit=3, window_seconds=10,
                  answer=LimitAnswer.REFUSED),
    ],
    repeats=RepeatRule(max_repeats=2, window_seconds=300, min_chars=10),
)  # fmt: skip


def _request(stage: LimitStage = LimitStage.START, **kw: object) -> AdmissionRequest:
    base: dict[str, object] = {"customer_id": "c1", "tenant": "t1", "at": 1000.0}
    return AdmissionRequest(stage=stage, **{**base, **kw})


def _readings(
    request: AdmissionRequest, counts: dict[str, tuple[int, int]]
) -> list[CounterReading]:
    out = []
    for key in counter_keys(POLICY, request):
        prefix = key.name.split(":")[0] + ":" + key.name.split(":")[1]
        current, previous = counts.get(prefix, (1, 0))
        out.append(CounterReading(key=key, current=current, previous=previous))
    return out


def test_keys_per_stage_and_scope() -> None:
    start = [k.name for k in counter_keys(POLICY, _request(text="where is my parcel please"))]
    assert start == [
        "customer:start:t1/c1",
        "tenant:start:t1",
        "repeat:t1:" + repeat_fingerprint("where is my parcel please"),
    ]
    turn = [k.name for k in counter_keys(POLICY, _request(LimitStage.TURN, text="ok"))]
    assert turn == ["customer:turn:t1/c1"]  # "ok" is too short to be a script


def test_within_limits_is_allowed() -> None:
    request = _request()
    decision = decide(POLICY, request, _readings(request, {"customer:start": (2, 0)}))
    assert decision.allowed and decision.policy_version == 3


def test_customer_over_limit_is_throttled_until_the_window_ends() -> None:
    request = _request(at=1010.0)
    decision = decide(POLICY, request, _readings(request, {"customer:start": (3, 0)}))
    assert decision.answer is LimitAnswer.THROTTLED
    assert decision.retry_after_seconds == 10.0  # window 960..1020
    assert decision.reason and "try again" in decision.reason


def test_tenant_over_limit_is_queued_without_a_refusal_reason() -> None:
    request = _request()
    decision = decide(POLICY, request, _readings(request, {"tenant:start": (6, 0)}))
    assert decision.answer is LimitAnswer.QUEUED and decision.reason is None


def test_strictest_answer_wins() -> None:
    request = _request()
    decision = decide(
        POLICY, request, _readings(request, {"tenant:start": (9, 0), "customer:start": (9, 0)})
    )
    assert decision.answer is LimitAnswer.THROTTLED and len(decision.hits) == 2


def test_previous_window_counts_while_it_overlaps() -> None:
    key = CounterKey(name="x", window_start=960.0, window_seconds=60.0)
    reading = CounterReading(key=key, current=1, previous=10)
    assert estimate(reading, 960.0) == 11.0
    assert estimate(reading, 990.0) == 6.0
    assert estimate(reading, 1019.0) == pytest.approx(1 + 10 * (1 / 60))


def test_scripted_repeats_are_refused_whatever_the_digits() -> None:
    assert repeat_fingerprint("Refund ORDER 123  now") == repeat_fingerprint("refund order 99 now")
    request = _request(LimitStage.TURN, text="refund order 123 now please")
    decision = decide(POLICY, request, _readings(request, {"repeat:t1": (3, 0)}))
    assert decision.answer is LimitAnswer.REFUSED
    assert [h.rule for h in decision.hits] == ["repeat"]


def test_turn_limits_do_not_apply_at_start() -> None:
    request = _request(LimitStage.START)
    decision = decide(POLICY, request, _readings(request, {"customer:turn": (99, 0)}))
    assert decision.allowed

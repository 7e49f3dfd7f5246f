"""Routing proposals in the store: written once per run, superseded, approved through the audited
config save (refused when stale or decided), rejected; and the evidence calibration reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.calibration import CalibrationResult, ProposalStatus, QualityTarget
from models.routing import RoutingConfig, ThresholdRule
from store import Store
from store.learning import DEFAULT_REPEAT_WINDOW, LearningStore, ProposalConflict
from store.repository import ROUTING_CONFIG_STREAM
from tests.store.builders import make_record


def result_on(base: RoutingConfig, ai_min: float = 0.85) -> CalibrationResult:
    rule = ThresholdRule(intent="billing", channel="chat", segment="standard", ai_min=ai_min)
    proposed = base.model_copy(update={"thresholds": [*base.thresholds, rule]})
    return CalibrationResult(
        base_version=base.version,
        target=QualityTarget(),
        interactions=40,
        config=proposed,
        changes=[f"billing/chat/standard: ai_min 0.92 -> {ai_min}"],
    )


def test_a_proposal_is_written_once_per_run_and_supersedes_the_waiting_one(store: Store) -> None:
    learning = LearningStore(store)
    base = store.save_routing_config(RoutingConfig(), "ops")
    first = learning.save_proposal("run-1", result_on(base))
    assert learning.save_proposal("run-1", result_on(base, 0.8)).id == first.id
    second = learning.save_proposal("run-2", result_on(base, 0.8))
    assert [(p.id, p.status) for p in learning.proposals()] == [
        (second.id, ProposalStatus.PENDING),
        (first.id, ProposalStatus.SUPERSEDED),
    ]
    assert [p.id for p in learning.proposals(ProposalStatus.PENDING)] == [second.id]


def test_approval_saves_the_proposed_config_as_the_approvers_version_audited(store: Store) -> None:
    learning = LearningStore(store)
    base = store.save_routing_config(RoutingConfig(), "ops")
    proposal = learning.save_proposal("run-1", result_on(base))
    decided = learning.decide(
        proposal.id, approve=True, by="op@example.com", note="ok, mail jane.doe@example.com"
    )
    assert decided is not None and decided.status is ProposalStatus.APPROVED
    active = store.active_routing_config()
    assert active is not None and active.version == decided.applied_version == base.version + 1
    assert active.author == "op@example.com"
    assert active.thresholds[-1].ai_min == 0.85
    kinds = [(e.kind, e.actor) for e in store.audit_trail(ROUTING_CONFIG_STREAM)]
    assert kinds[-3:] == [
        ("routing_proposal_created", "calibration"),
        ("routing_config_saved", "op@example.com"),
        ("routing_proposal_approved", "op@example.com"),
    ]
    assert "jane.doe@example.com" not in (decided.note or "")
    with pytest.raises(ProposalConflict, match="approved, not pending"):
        learning.decide(proposal.id, approve=False, by="op@example.com", note="")


def test_a_proposal_made_on_an_older_version_is_refused_and_can_be_rejected(store: Store) -> None:
    learning = LearningStore(store)
    base = store.save_routing_config(RoutingConfig(), "ops")
    proposal = learning.save_proposal("run-1", result_on(base))
    store.save_routing_config(RoutingConfig(), "ops")
    with pytest.raises(ProposalConflict, match="evidence no longer applies"):
        learning.decide(proposal.id, approve=True, by="op", note="")
    rejected = learning.decide(proposal.id, approve=False, by="op", note="not now")
    assert rejected is not None and rejected.status is ProposalStatus.REJECTED
    assert learning.decide(999, approve=True, by="op", note="") is None


def test_outcome_samples_are_the_ai_routed_facts_since_a_time(store: Store) -> None:
    store.record_interaction(make_record("a", route="ai", csat=4))
    store.record_interaction(make_record("b", route="human", outcome="human_only"))
    store.record_interaction(make_record("c", route="ai_monitored", initial_channel="voice"))
    store.record_interaction(make_record("d", route="ai", started_at="2024-01-01T00:00:00+00:00"))
    samples = LearningStore(store).outcome_samples(datetime(2024, 6, 1, tzinfo=UTC))
    assert sorted((s.route, s.channel, s.csat) for s in samples) == [
        ("ai", "chat", 4),
        ("ai_monitored", "voice", None),
    ]


def test_repeat_contact_is_the_same_customer_starting_again_within_the_window(
    store: Store,
) -> None:
    """Samples are told apart by confidence (OutcomeSample has no id). The windows are
    72 h by default; returns may be routed anywhere (here to a human)."""

    def record(name: str, key: str | None, at: str, confidence: float | None = None) -> None:
        ai = confidence is not None
        store.record_interaction(
            make_record(
                name,
                route="ai" if ai else "human",
                outcome="contained" if ai else "human_only",
                confidence=confidence if ai else 0.5,
                customer_key=key,
                started_at=at,
            )
        )

    record("a", "ck1:a", "2025-01-01T10:00:00+00:00", 0.91)
    record("a-back", "ck1:a", "2025-01-03T09:00:00+00:00")  # 47 h later
    record("b", "ck1:b", "2025-01-01T10:00:00+00:00", 0.92)
    record("b-back", "ck1:b", "2025-01-04T10:00:01+00:00")  # 72 h and 1 s later
    record("c", "ck1:c", "2025-01-01T10:00:00+00:00", 0.93)  # never back
    record("c-before", "ck1:c", "2024-12-31T10:00:00+00:00")  # earlier: not a return
    record("u", None, "2025-01-01T11:00:00+00:00", 0.94)  # facts without a key
    record("u-back", None, "2025-01-01T12:00:00+00:00")
    record("d", "ck1:d", "2025-01-09T10:00:00+00:00", 0.95)  # window still open
    learning = LearningStore(store)
    since = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)

    def repeats(window: timedelta | None = None) -> dict[float, bool | None]:
        window = window if window is not None else DEFAULT_REPEAT_WINDOW
        samples = learning.outcome_samples(since, now=now, repeat_window=window)
        return {s.confidence: s.repeat_contact for s in samples}

    assert repeats() == {0.91: True, 0.92: False, 0.93: False, 0.94: None, 0.95: None}
    assert repeats(timedelta(hours=73)) == {
        0.91: True,
        0.92: True,
        0.93: False,
        0.94: None,
        0.95: None,
    }
    # Without a time to judge the window by, only a return already seen is known.
    samples = learning.outcome_samples(since)
    assert {s.confidence: s.repeat_contact for s in samples}[0.91] is True
    assert {s.confidence: s.repeat_contact for s in samples}[0.93] is None


def test_repeat_contact_samples_stay_bounded_by_the_limit(store: Store) -> None:
    for n in range(5):
        store.record_interaction(
            make_record(f"r{n}", customer_key="ck1:same", started_at=f"2025-01-0{n + 1}T10:00:00Z")
        )
    samples = LearningStore(store).outcome_samples(
        datetime(2025, 1, 1, tzinfo=UTC), 3, now=datetime(2025, 2, 1, tzinfo=UTC)
    )
    # Newest first: the last start has no return, the two before it each had the next day's.
    assert [s.repeat_contact for s in samples] == [False, True, True]

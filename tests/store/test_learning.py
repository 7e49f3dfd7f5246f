"""Routing proposals in the store: written once per run, superseded, approved through the audited
config save (refused when stale or decided), rejected; and the evidence calibration reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.calibration import CalibrationResult, ProposalStatus, QualityTarget
from models.routing import RoutingConfig, ThresholdRule
from store import Store
from store.learning import LearningStore, ProposalConflict
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

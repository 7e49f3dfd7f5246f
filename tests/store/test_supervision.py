"""Supervision records on both backends: policy versions and phase moves, reviews, overrides,
QA, the evidence and WFM volume computed from them, and the supervisor cap on claims."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from models.facts import RecordInteraction
from models.supervision import (
    HumanOverride,
    ModeRule,
    OverrideKind,
    QAReview,
    RecordSupervision,
    ReviewDecision,
    ReviewRecord,
    SupervisionFacts,
    SupervisionMode,
    SupervisionPolicy,
)
from models.supervision_phase import (
    WFM_EVENTS_STREAM,
    EvidenceRequest,
    MoveKind,
    Phase,
    PhaseEvidence,
    PhaseMoveRequest,
)
from runtime.supervision_cache import SupervisionPolicyCache
from store import Store
from tests.store.builders import make_facts
from warmline.supervision import mode_for

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _move(intent: str, key: str, to: Phase = Phase.SCALING, seq: int = 1) -> PhaseMoveRequest:
    return PhaseMoveRequest(
        move_key=key,
        kind=MoveKind.PROMOTION,
        intent=intent,
        from_phase=Phase.PILOT,
        to_phase=to,
        actor="ops-lead",
        at=T0,
        reasons=["evidence good", "signed off"],
        evidence=PhaseEvidence(
            days_in_phase=30,
            volume=5000,
            window_days=7,
            window_volume=1680,
            mean_handle_seconds=300,
            supervised_share=1.0,
        ),
        audit_stream=f"supervision-phase-{intent}",
        audit_seq=seq,
    )


def _review(
    interaction: str, draft: str, decision: ReviewDecision, **extra: object
) -> ReviewRecord:
    body: dict[str, object] = {
        "interaction_id": interaction,
        "draft_id": draft,
        "decision": decision,
        "reviewer_id": "sup-1",
        "decided_at": T0 + timedelta(minutes=5),
        "held_since": T0 + timedelta(minutes=4),
        "intent": "billing",
        "channel": "chat",
        "model_version": "v1",
        "draft_text": "Your refund of $40 is on its way.",
        "sent_text": "Your refund of $40 is on its way.",
    }
    body.update(extra)
    return ReviewRecord.model_validate(body)


def _supervision_facts(
    interaction_id: str, mode: SupervisionMode = SupervisionMode.FULLY_SUPERVISED, **fields: Any
) -> SupervisionFacts:
    """A billing chat's supervision facts, started and ended at ``T0`` unless given."""
    return SupervisionFacts(
        interaction_id=interaction_id,
        intent="billing",
        channel="chat",
        mode=mode,
        **{"started_at": T0, "ended_at": T0, **fields},
    )


def test_policy_versions_are_appended_and_the_highest_is_active(store: Store) -> None:
    assert store.active_supervision_policy() is None
    first = store.save_supervision_policy(SupervisionPolicy(), "alice")
    second = store.save_supervision_policy(
        SupervisionPolicy(modes=[ModeRule(intent="billing", mode="semi_autonomous")]), "bob"
    )
    assert (first.version, second.version) == (1, 2)
    active = store.active_supervision_policy()
    assert active is not None and active.version == 2 and active.author == "bob"
    assert store.get_supervision_policy(1) == first
    assert [(v, a) for v, a, _ in store.list_supervision_policies()] == [(1, "alice"), (2, "bob")]


def test_a_phase_move_writes_policy_wfm_event_and_audit_once(store: Store) -> None:
    store.save_supervision_policy(SupervisionPolicy(supervisor_concurrent_cap=4), "admin")
    result = store.apply_supervision_move(_move("billing", "wf/run/move-1"))
    again = store.apply_supervision_move(_move("billing", "wf/run/move-1"))
    assert result.written and not again.written
    assert again.policy_version == result.policy_version == 2
    assert again.staffing == result.staffing
    policy = store.active_supervision_policy()
    assert policy is not None and policy.supervisor_concurrent_cap == 4
    assert mode_for(policy, "billing", "chat")[0] is SupervisionMode.SEMI_AUTONOMOUS
    wfm = store.audit_trail(WFM_EVENTS_STREAM)
    assert len(wfm) == 1 and wfm[0].kind == "supervision_phase_changed"
    assert wfm[0].payload["staffing"]["supervisors_before"] == 1
    assert wfm[0].payload["policy_version"] == 2
    assert [e.kind for e in store.audit_trail("supervision-phase-billing")] == ["phase_promotion"]


def test_concurrent_moves_of_different_intents_lose_no_cell(store: Store) -> None:
    intents = [f"intent-{n}" for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda i: store.apply_supervision_move(_move(i, f"k-{i}")), intents)
        )
    assert sorted(r.policy_version for r in results) == [1, 2, 3, 4, 5, 6]
    policy = store.active_supervision_policy()
    assert policy is not None
    assert {rule.intent for rule in policy.modes} == set(intents)
    assert [e.seq for e in store.audit_trail(WFM_EVENTS_STREAM)] == [1, 2, 3, 4, 5, 6]
    assert store.verify_audit(WFM_EVENTS_STREAM) == (True, None)


def test_reviews_and_overrides_are_recorded_once_with_who_when_what_why(store: Store) -> None:
    review = _review("i-1", "d-1", ReviewDecision.EDIT, sent_text="Refund of $40 sent today.")
    assert store.record_review(review)
    assert not store.record_review(review)
    override = HumanOverride(
        interaction_id="i-1",
        seq=1,
        kind=OverrideKind.TAKEOVER,
        actor="sup-1",
        at=T0 + timedelta(minutes=6),
        ai_decision="route ai (confidence 0.93)",
        human_decision="took over the chat",
        reason="customer is a known fraud case",
    )
    assert store.record_override(override)
    assert not store.record_override(override)
    [stored] = store.reviews_for("i-1")
    assert stored == review and stored.wait_seconds == 60.0
    assert store.overrides_for("i-1") == [override]
    assert store.reviews_by("sup-1") == [review]


def test_record_supervision_is_one_idempotent_write_that_frees_claims(store: Store) -> None:
    store.record_review(_review("i-2", "d-1", ReviewDecision.APPROVE))
    assert store.claim_review("interaction-i-2", "d-2", "sup-1", cap=5).claimed
    record = RecordSupervision(
        facts=_supervision_facts(
            "i-2",
            SupervisionMode.FULLY_SUPERVISED,
            started_at=T0,
            ended_at=T0 + timedelta(minutes=10),
            supervised_seconds=600,
            drafts_held=2,
            reviews=2,
            review_wait_seconds=90,
            triggers=["monetary_amount"],
        ),
        reviews=[
            _review("i-2", "d-1", ReviewDecision.APPROVE),
            _review("i-2", "d-2", ReviewDecision.REJECT, sent_text=None, reason="wrong policy"),
        ],
    )
    assert store.record_supervision(record)
    assert not store.record_supervision(record)
    assert [r.draft_id for r in store.reviews_for("i-2")] == ["d-1", "d-2"]
    assert store.supervision_facts("i-2") == record.facts
    assert store.review_claims("sup-1") == []


def test_qa_reviews_first_wins(store: Store) -> None:
    review = QAReview(
        interaction_id="i-3",
        reviewer_id="qa-1",
        intent="billing",
        channel="chat",
        resolved_correctly=True,
        reviewed_at=T0,
    )
    assert store.record_qa_review(review)
    assert not store.record_qa_review(review.model_copy(update={"resolved_correctly": False}))


def _facts(store: Store) -> None:
    records = []
    for n in range(10):
        records.append(
            RecordInteraction(
                facts=make_facts(
                    f"ai-{n}",
                    intent="billing",
                    route="ai" if n % 2 else "ai_monitored",
                    pool="ai_contained" if n < 8 else "ai_assisted",
                    model_version="v1",
                    csat=5 if n < 8 else 1,
                    total_seconds=200.0 + n,
                    started_at=(T0 + timedelta(hours=n)).isoformat(),
                )
            )
        )
    records += [
        RecordInteraction(
            facts=make_facts(
                "old",
                intent="billing",
                model_version="v1",
                started_at=(T0 - timedelta(days=30)).isoformat(),
            )
        ),
        RecordInteraction(
            facts=make_facts("v0", intent="billing", model_version="v0", started_at=T0.isoformat())
        ),
        RecordInteraction(
            facts=make_facts("other", intent="fraud", model_version="v1", started_at=T0.isoformat())
        ),
        RecordInteraction(
            facts=make_facts(
                "h-1",
                intent="billing",
                route="human",
                pool="human_only",
                csat=4,
                started_at=T0.isoformat(),
            )
        ),
    ]
    store.record_interactions(records)


def test_phase_evidence_counts_the_phase_and_the_window(store: Store) -> None:
    _facts(store)
    for n in range(4):
        decision = ReviewDecision.APPROVE if n < 3 else ReviewDecision.REJECT
        store.record_review(_review(f"ai-{n}", "d", decision))
    store.record_review(_review("v0", "d", ReviewDecision.REJECT, model_version="v0"))
    for n, ok in enumerate([True, True, True, False]):
        store.record_qa_review(
            QAReview(
                interaction_id=f"ai-{n}",
                reviewer_id="qa",
                intent="billing",
                channel="chat",
                resolved_correctly=ok,
                reviewed_at=T0 + timedelta(hours=1),
            )
        )
    store.record_supervision(
        RecordSupervision(
            facts=_supervision_facts(
                "ai-0",
                SupervisionMode.SEMI_AUTONOMOUS,
                drafts_held=1,
            )
        )
    )
    store.record_supervision(
        RecordSupervision(
            facts=_supervision_facts(
                "ai-1",
                SupervisionMode.SEMI_AUTONOMOUS,
            )
        )
    )
    evidence = store.phase_evidence(
        EvidenceRequest(
            intent="billing",
            channel="chat",
            model_version="v1",
            phase_started_at=T0 - timedelta(hours=1),
            now=T0 + timedelta(days=1),
            window_days=7,
        )
    )
    assert evidence.volume == 10 and evidence.window_volume == 10
    assert evidence.days_in_phase == round(25 / 24, 6)
    assert evidence.containment_rate == 0.8
    assert evidence.csat_delta == round((8 * 5 + 2 * 1) / 10 - 4, 6)
    assert (evidence.reviewed_drafts, evidence.draft_approval_rate) == (4, 0.75)
    assert (evidence.qa_samples, evidence.qa_resolution_accuracy) == (4, 0.75)
    assert evidence.mean_handle_seconds == 204.5
    assert evidence.supervised_share == 0.5


def test_evidence_without_data_has_no_rates(store: Store) -> None:
    evidence = store.phase_evidence(
        EvidenceRequest(intent="none", phase_started_at=T0, now=T0, window_days=7)
    )
    assert evidence.volume == 0 and evidence.containment_rate is None
    assert evidence.draft_approval_rate is None and evidence.csat_delta is None


def test_supervision_volume_implies_supervisors(store: Store) -> None:
    for n in range(12):
        mode = SupervisionMode.FULLY_SUPERVISED if n < 10 else SupervisionMode.FULLY_AUTONOMOUS
        store.record_supervision(
            RecordSupervision(
                facts=_supervision_facts(
                    f"s-{n}",
                    mode,
                    started_at=T0 + timedelta(minutes=5 * n),
                    ended_at=T0 + timedelta(minutes=5 * n + 30),
                    supervised_seconds=1800 if n < 10 else 0,
                    reviews=3 if n < 10 else 0,
                )
            )
        )
    volume = store.supervision_volume(T0, T0 + timedelta(hours=1), cap=4)
    assert volume.interactions == 12 and volume.supervised_interactions == 10
    assert volume.reviews == 30
    assert volume.concurrent_sessions == 5.0  # 10 x 30 min within one hour
    assert volume.supervisors_needed == 2
    default_cap = store.supervision_volume(T0, T0 + timedelta(hours=1), intent="billing")
    assert default_cap.supervisor_cap == 5 and default_cap.supervisors_needed == 1


def test_claims_enforce_the_cap_and_one_holder(store: Store) -> None:
    for n in range(3):
        outcome = store.claim_review(f"interaction-{n}", "d-1", "sup-1", cap=3)
        assert outcome.claimed and outcome.held == n + 1
    refused = store.claim_review("interaction-9", "d-1", "sup-1", cap=3)
    assert not refused.claimed and "cap 3" in refused.reason
    taken = store.claim_review("interaction-0", "d-1", "sup-2", cap=3)
    assert not taken.claimed and "held by sup-1" in taken.reason
    assert store.claim_review("interaction-0", "d-1", "sup-1", cap=3).reason == "already held"
    assert store.release_review_claim("interaction-1", "d-1") == 1
    reused = store.claim_review("interaction-9", "d-1", "sup-1", cap=3)
    assert reused.claimed and reused.claim is not None and reused.claim.slot == 2
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.release_claims_except({"interaction-0"}, claimed_before=later) == 2
    assert [c.workflow_id for c in store.review_claims()] == ["interaction-0"]


def test_concurrent_claims_never_exceed_the_cap(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(
            pool.map(
                lambda n: store.claim_review(f"interaction-{n}", "d", "sup-1", cap=3), range(8)
            )
        )
    assert sum(o.claimed for o in outcomes) == 3
    assert sorted(c.slot for c in store.review_claims("sup-1")) == [1, 2, 3]


async def test_policy_cache_falls_back_to_defaults_then_reads_saved_versions(store: Store) -> None:
    cache = SupervisionPolicyCache(store, ttl_seconds=60)
    first = await cache.get()
    assert first.version == 0 and first.default_mode is SupervisionMode.FULLY_SUPERVISED
    store.save_supervision_policy(SupervisionPolicy(qa_sample_rate=0.2), "admin")
    assert (await cache.get()).version == 0, "within the TTL the cached policy is used"
    cache.invalidate()
    assert (await cache.get()).qa_sample_rate == 0.2


def test_closing_records_write_facts_and_supervision_together_in_one_batch(store: Store) -> None:
    """What the worker's group commit does: many closings, one transaction, nothing twice."""

    def closing(interaction_id: str, supervised: bool) -> RecordInteraction:
        supervision = (
            RecordSupervision(
                facts=_supervision_facts(
                    interaction_id,
                    SupervisionMode.FULLY_SUPERVISED,
                    started_at=T0,
                    ended_at=T0 + timedelta(minutes=2),
                    supervised_seconds=120,
                    drafts_held=1,
                    reviews=1,
                ),
                reviews=[_review(interaction_id, "d-1", ReviewDecision.APPROVE)],
            )
            if supervised
            else None
        )
        return RecordInteraction(facts=make_facts(interaction_id), supervision=supervision)

    batch = [closing("b-1", True), closing("b-2", False), closing("b-3", True)]
    assert store.record_interactions(batch) == [True, True, True]
    assert store.record_interactions([closing("b-3", True), closing("b-4", False)]) == [False, True]
    assert store.count_facts() == 4
    assert store.supervision_facts("b-1") is not None and store.supervision_facts("b-3")
    assert store.supervision_facts("b-2") is None
    assert [r.draft_id for r in store.reviews_for("b-3")] == ["d-1"]  # not duplicated

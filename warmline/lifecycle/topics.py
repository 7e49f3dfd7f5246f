"""Topic shifts: every later customer turn is classified again before the AI answers it.

The triage step classifies the turn's words and routes them as it would a first message; the
pure ``warmline.handoff`` decides what that means for the conversation: keep it as it is,
re-route it under the new intent (same agent, new route and supervision mode), hand it to
another AI agent with a context package, or hand it to a human. Every shift is on the record:
a routing decision, a ``handoff`` audit event, the state's ``handoffs`` (the ``status`` query)
and the hand-off count in the facts. A failed classification keeps the conversation where it is.

The check runs beside the current agent's AI call (``start_check``): a turn that keeps its topic
gets that answer; on a shift the answer is dropped unsent and the new agent is called.

Only interactions started with ``turn_intents`` do this (``workflow.patched`` in the workflow):
histories recorded before keep their commands.
"""

from __future__ import annotations

from models.handoff import HandoffAction, HandoffPolicy, HandoffRecord
from models.interaction import EscalationTrigger
from models.interaction_state import InteractionCarry, Job
from models.lifecycle import CommandFailed, Event, Triage, Triaged
from models.triage import TriageRequest, TriageResult
from warmline.handoff import context_package, decide_handoff
from warmline.lifecycle import handover, review
from warmline.lifecycle.transition import TRIAGE_SECONDS, Step
from warmline.redaction import redact

ACTIONS_KEPT = 20


def _agent(c: InteractionCarry) -> str:
    endpoint = c.decision.ai_endpoint if c.decision else None
    return f"{endpoint.name}:{endpoint.version}" if endpoint else "none"


def start_check(s: Step) -> None:
    """Ask for the turn's intent (and its route) beside the AI call, when the turn needs it.

    Beside, not before: most turns keep their topic, and the current agent's answer is then
    sent as soon as both are back, so the check costs a turn no latency of its own when the AI
    takes longer than the classifier. On a topic shift that answer is dropped unsent."""
    request = check_request(s.state, s.job)
    if request is None:
        return
    op = claim_check(s)
    s.emit(Triage(op=op, timeout_seconds=TRIAGE_SECONDS, request=request))


def claim_check(s: Step) -> int:
    """The check's op and deadline, whether it is asked now or was answered ahead."""
    op = s.next_op()
    s.job.check_op, s.job.check_deadline = op, s.after(TRIAGE_SECONDS)
    return op


def check_request(c: InteractionCarry, job: Job) -> TriageRequest | None:
    """The turn's intent check, when the turn needs one (``wants_check``)."""
    if not wants_check(c, job):
        return None
    return TriageRequest(
        interaction_id=c.request.interaction_id,
        text=job.text,
        channel=c.channel,
        segment=c.request.customer.segment,
        language=c.request.customer.language,
        region=c.request.customer.region,
        entry_point=c.request.entry_point,
        pattern=c.pattern,
        turn=job.turn,
    )


def wants_check(c: InteractionCarry, job: Job) -> bool:
    """Whether the AI's answer to this turn comes with an intent check (``start_check``)."""
    if not c.turn_intents or job.turn is None or job.turn <= 1 or c.pattern is None:
        return False
    return bool(job.text.strip()) and not (c.decision and not c.decision.handoff.reevaluate_turns)


def on_result(s: Step, result: Event) -> bool:
    """The turn's intent came back: True when the AI (perhaps another one) answers the turn."""
    match result:
        case Triaged(result=triage):
            return _shift(s, triage)
        case CommandFailed(error=error):
            s.audit("turn_intent_failed", {"turn": s.job.turn, "error": redact(error)})
            return True
        case _:
            s.ignore(f"{result.kind} does not answer a turn's classification")
            return False


def _shift(s: Step, triage: TriageResult) -> bool:
    c, job = s.state, s.job
    assert job.turn is not None
    new, routed = triage.classification, triage.decision
    current = c.decision.ai_endpoint if c.decision else None
    previous_intent = c.classification.intent if c.classification else "unknown"
    decided = decide_handoff(
        current_agent=current.name if current else None,
        current_intent=c.classification.intent if c.classification else None,
        agent_left=c.agent_left,
        handoffs=c.handoff_count,
        classification=new,
        decision=routed,
        policy=c.decision.handoff if c.decision else HandoffPolicy(),
    )
    if decided.action is HandoffAction.KEEP:
        return True
    if new.intent not in c.intents_seen:
        c.intents_seen = [*c.intents_seen, new.intent]
    from_agent = _agent(c)
    reason = "; ".join(decided.reasons)
    s.record_decision(routed, decided.reasons[:1], turn=job.turn, handoff=decided.action.value)
    handing_off = decided.action is HandoffAction.HANDOFF
    if handing_off:
        c.handoff_count += 1
    record = HandoffRecord(
        at=s.at,
        count=c.handoff_count,
        action=decided.action,
        from_agent=from_agent,
        to_agent=(
            f"{routed.ai_endpoint.name}:{routed.ai_endpoint.version}"
            if routed.ai_endpoint and decided.action is not HandoffAction.HUMAN
            else None
        ),
        from_intent=previous_intent,
        to_intent=new.intent,
        confidence=new.confidence,
        turn=job.turn,
        reason=reason,
    )
    c.handoffs = [*c.handoffs, record]
    s.audit("handoff", record.model_dump(mode="json"))
    if decided.action is HandoffAction.HUMAN:
        c.classification = new
        if c.decision is not None and routed.human_queue:
            # The human who takes the new topic comes from its queue (tech, not billing).
            c.decision = c.decision.model_copy(update={"human_queue": routed.human_queue})
        handover.escalate(s, EscalationTrigger.TOPIC_SHIFT, reason)
        return False
    c.classification, c.decision = new, routed
    review.apply_plan(s, triage.supervision)
    if handing_off:
        assert current is not None
        c.handoff_package = context_package(
            interaction_id=c.request.interaction_id,
            handoff_count=c.handoff_count,
            reason=reason,
            previous_agent=from_agent,
            previous_intent=previous_intent,
            new_intent=new.intent,
            intents_seen=c.intents_seen,
            agent_actions=c.agent_actions,
            agent_turns=c.agent_turns,
            transcript=c.transcript,
            since_turn=c.agent_since_turn,
        )
        c.agent_left = current.name
        c.agent_since_turn = job.turn
        c.agent_turns = 0
        c.agent_actions = []
    return True


def answered(c: InteractionCarry, action: str) -> None:
    """The current agent answered a turn: part of what a later hand-off reports it did."""
    c.agent_turns += 1
    c.agent_actions = [*c.agent_actions, action][-ACTIONS_KEPT:]

"""The AI's side of a customer turn: escalation checks around the call, the call with one
fail-over to another healthy version, the supervision gates, and shadow traffic.

Order of a turn: the customer's words are checked first (explicit request, sentiment, max turns)
and, when semi-autonomous, against the supervision triggers; then the AI answers. A failed call is
re-routed once with the classification already made; a second failure hands over. The answer's
output check may hold it, refuse it or hand over (``reply_safety``); it may wait for a
supervisor; then it is sent, and the AI's own action (resolve, escalate) and the turn limit
decide whether the conversation goes on.
"""

from __future__ import annotations

from models.ai import AIAction, AIReply, AIRequest, ChatTurn, ShadowRequest
from models.gate import TurnAhead
from models.interaction import EscalationTrigger, InteractionState, Outcome, Reply, Sender
from models.interaction_state import HeldDraft, InteractionCarry, WaitKind
from models.lifecycle import (
    AIReplied,
    CallAI,
    CallShadow,
    CommandFailed,
    Event,
    Triage,
    Triaged,
)
from models.routing import AI_CONTEXT_MESSAGES, AIEndpoint, RoutingDecision
from models.supervision import ReviewResponse, SupervisionMode, TriggerAction
from models.triage import TriageRequest
from warmline.escalation import EscalationCheck, check_escalation
from warmline.lifecycle import (
    changes,
    handover,
    jobs,
    regulation,
    reply_safety,
    review,
    topics,
    wording,
)
from warmline.lifecycle.transition import (
    AI_SECONDS,
    SHADOW_ATTEMPT_MARGIN_SECONDS,
    SHADOW_ATTEMPTS,
    TRIAGE_SECONDS,
    Step,
    idempotency_key,
)
from warmline.redaction import redact


def endpoint_key(endpoint: AIEndpoint) -> str:
    return f"{endpoint.name}:{endpoint.version}"


_ROLES = {Sender.CUSTOMER: "user", Sender.AI: "assistant"}


def chat_messages(c: InteractionCarry) -> list[ChatTurn]:
    """The instructions, then the latest customer and AI messages the route's window allows
    (``ai_context_messages``), oldest first. Read from the end, so a turn's cost does not grow
    with the conversation's length."""
    limit = c.decision.ai_context_messages if c.decision else AI_CONTEXT_MESSAGES
    withheld = set(c.withheld_turns)  # refused by the safety policy: never shown to an AI
    latest: list[ChatTurn] = []
    for entry in reversed(c.transcript):
        if len(latest) >= limit:
            break
        role = _ROLES.get(entry.sender)
        if role is None or (entry.sender is Sender.CUSTOMER and entry.turn in withheld):
            continue
        latest.append(ChatTurn(role=role, content=entry.text))
    return [ChatTurn(role="system", content=wording.SYSTEM_PROMPT), *reversed(latest)]


def reroute_request(c: InteractionCarry) -> TriageRequest:
    """Route again with the classification already made (fail-over, channel switch)."""
    assert c.pattern is not None
    return TriageRequest(
        interaction_id=c.request.interaction_id,
        text="",
        channel=c.channel,
        segment=c.request.customer.segment,
        language=c.request.customer.language,
        region=c.request.customer.region,
        jurisdiction=regulation.jurisdiction(c),
        entry_point=c.request.entry_point,
        pattern=c.pattern,
        classification=c.classification,
    )


def begin(s: Step) -> None:
    """The job's customer turn goes to the AI, unless the customer's words call for a human."""
    c, job = s.state, s.job
    decision = c.decision
    if decision is None or decision.ai_endpoint is None:
        handover.escalate(s, EscalationTrigger.AI_UNAVAILABLE, "no AI endpoint on the route")
        return
    before = _escalation_before(c, job.text, decision)
    if before is not None:
        handover.escalate(s, before.trigger, before.detail)
        return
    if _gated(s):
        return
    if _answered_ahead(s, decision.ai_endpoint):
        return
    topics.start_check(s)  # a later turn's topic may move the conversation (``topics``)
    _call(s, decision.ai_endpoint, failover=False)


def _escalation_before(
    c: InteractionCarry, text: str, decision: RoutingDecision
) -> EscalationCheck | None:
    """An escalation rule the customer's words fire before any AI answers them."""
    return check_escalation(
        customer_text=text,
        ai_turns=c.ai_turns,
        resolved=False,
        ai_action=None,
        ai_assessment=None,
        out_of_scope=False,
        policy=decision.escalation,
    )


def ahead(s: Step) -> TurnAhead | None:
    """The turn's AI call and intent check, to be made by its admission check's activity once
    the turn is admitted and screened (``changes.TURN_AHEAD``): one local activity round for
    the whole turn instead of three. Only where nothing but that answer stands between the turn
    and the call: the AI holds the conversation, no escalation rule fires on the customer's
    words, and no semi-autonomous trigger is weighed first. ``begin`` takes the answers only if
    it would ask exactly the same now."""
    c, job = s.state, s.job
    decision = c.decision
    if not changes.made(c, changes.TURN_AHEAD) or c.state is not InteractionState.AI_ACTIVE:
        return None
    if decision is None or decision.ai_endpoint is None or job.turn is None:
        return None
    if c.supervision is not None and c.supervision.mode is SupervisionMode.SEMI_AUTONOMOUS:
        return None
    if _escalation_before(c, job.text, decision) is not None:
        return None
    request = _turn_request(c, job.turn, decision.ai_endpoint)
    return TurnAhead(ai=request, check=topics.check_request(c, job))


def _answered_ahead(s: Step, endpoint: AIEndpoint) -> bool:
    """The turn's call (and check) answered with the admission check: taken as if their own
    activities had answered, in the order the machine reads them (the answer, then the intent
    that decides whether it is sent). False, and asked anew, when the call did not run or
    failed there, or this turn would now ask something else."""
    c, job = s.state, s.job
    asked, answered = job.ahead_asked, job.ahead
    job.ahead_asked, job.ahead = None, None
    if asked is None or answered is None or answered.reply is None or job.turn is None:
        return False
    check = topics.check_request(c, job)
    if asked != TurnAhead(ai=_turn_request(c, job.turn, endpoint), check=check):
        return False
    intent: Triaged | None = None
    if check is not None and answered.check is None:
        topics.start_check(s)  # the check failed there: asked on its own, with its retries
    elif check is not None and answered.check is not None:
        intent = Triaged(at=s.at, op=topics.claim_check(s), result=answered.check)
    op = s.next_op()
    s.wait(WaitKind.AI, op, AI_SECONDS, endpoint=endpoint, failover=False)
    on_ai(s, AIReplied(at=s.at, op=op, reply=answered.reply))
    if intent is not None:
        on_turn_intent(s, intent)
    return True


def _gated(s: Step) -> bool:
    """The supervision triggers of the plan in force: True when they hand over."""
    job = s.job
    job.gate = review.gate(s, job.text)
    if job.gate is not None and job.gate.action is TriggerAction.HANDOVER:
        handover.escalate(s, EscalationTrigger.SUPERVISION_TRIGGER, job.gate.detail)
        return True
    return False


def on_turn_intent(s: Step, result: Event) -> None:
    """The turn's intent is known (or its check failed). Kept topic: the answer in flight or
    held is the turn's. Moved: under the new plan's triggers, the new agent answers (the old
    answer is dropped unsent; one still in flight comes back late and is ignored)."""
    c, job = s.state, s.job
    wait = job.wait
    job.check_op = 0
    if wait is None or wait.kind not in (WaitKind.AI, WaitKind.TURN_INTENT) or wait.failover:
        s.ignore(f"turn intent came back while {wait.kind.value if wait else 'idle'}: kept")
        return
    before = c.decision.ai_endpoint if c.decision else None
    if not topics.on_result(s, result):
        return
    moved = bool(c.handoffs) and c.handoffs[-1].turn == job.turn
    if moved and _gated(s):
        return
    endpoint = c.decision.ai_endpoint if c.decision else None
    assert endpoint is not None and before is not None
    if endpoint_key(endpoint) != endpoint_key(before):
        job.held = None
        _call(s, endpoint, failover=False)
    elif job.held is not None:
        held, job.held = job.held, None
        _answered(s, held, accounted=True)
    # else: the AI call is still in flight and its answer will be the turn's


def ai_request(c: InteractionCarry, turn: int, endpoint: AIEndpoint, key: str) -> AIRequest:
    """The turn as the AI sees it; ``key`` makes a retried call the same call."""
    return AIRequest(
        interaction_id=c.request.interaction_id,
        turn=turn,
        idempotency_key=idempotency_key(c, key),
        endpoint=endpoint,
        intent=c.classification.intent if c.classification else "unknown",
        channel=c.channel.value,
        messages=chat_messages(c),
        handoff=c.handoff_package,
    )


def _turn_request(c: InteractionCarry, turn: int, endpoint: AIEndpoint) -> AIRequest:
    return ai_request(c, turn, endpoint, f"turn-{turn}:{endpoint_key(endpoint)}")


def _call(s: Step, endpoint: AIEndpoint, failover: bool) -> None:
    c, turn = s.state, s.job.turn
    assert turn is not None
    op = s.next_op()
    request = _turn_request(c, turn, endpoint)
    s.emit(CallAI(op=op, timeout_seconds=AI_SECONDS, request=request))
    s.wait(WaitKind.AI, op, AI_SECONDS, endpoint=endpoint, failover=failover)


def on_ai(s: Step, result: Event) -> None:
    match result:
        case AIReplied(reply=answer) if s.job.check_op:
            # The turn's intent check is still out: hold the answer (redacted) until it is in.
            c, job = s.state, s.job
            _account(c, answer)
            assessment = redact(answer.assessment) if answer.assessment else None
            job.held = answer.model_copy(
                update={"text": redact(answer.text), "assessment": assessment}
            )
            assert job.check_deadline is not None
            s.wait(WaitKind.TURN_INTENT, job.check_op, until=job.check_deadline)
        case AIReplied(reply=answer):
            _answered(s, answer)
        case CommandFailed(error=error):
            _failed(s, error)
        case _:
            s.ignore(f"{result.kind} does not answer an AI call")


def _failed(s: Step, error: str) -> None:
    c, wait = s.state, s.job.wait
    assert wait is not None and wait.endpoint is not None
    c.usage.ai_calls += 1
    c.usage.ai_failures += 1
    detail = redact(error)
    c.escalation_detail = detail[:500]
    s.audit("ai_failed", {"endpoint": endpoint_key(wait.endpoint), "error": detail})
    if wait.failover or c.pattern is None:
        handover.escalate(s, EscalationTrigger.AI_UNAVAILABLE, c.escalation_detail)
        return
    # Another healthy version may take the turn: route once more, classification kept.
    op = s.next_op()
    s.emit(Triage(op=op, timeout_seconds=TRIAGE_SECONDS, request=reroute_request(c)))
    s.wait(WaitKind.FAILOVER_ROUTE, op, TRIAGE_SECONDS, endpoint=wait.endpoint)


def on_failover_route(s: Step, result: Event) -> None:
    c, wait = s.state, s.job.wait
    assert wait is not None and wait.endpoint is not None
    new: RoutingDecision | None = None
    match result:
        case Triaged(result=triage):
            new = triage.decision
        case CommandFailed():
            pass
        case _:
            s.ignore(f"{result.kind} does not answer a re-route")
            return
    old = wait.endpoint
    if new is None or new.ai_endpoint is None or endpoint_key(new.ai_endpoint) == endpoint_key(old):
        handover.escalate(s, EscalationTrigger.AI_UNAVAILABLE, c.escalation_detail)
        return
    s.record_decision(new, [f"failover after {endpoint_key(old)} failed"])
    c.decision = new
    _call(s, new.ai_endpoint, failover=True)


def _account(c: InteractionCarry, answer: AIReply) -> None:
    """What an answer cost, sent or not."""
    c.usage.ai_calls += 1
    c.usage.ai_latency_ms_total += answer.latency_ms
    c.usage.ai_latency_ms_max = max(c.usage.ai_latency_ms_max, answer.latency_ms)
    c.usage.prompt_tokens += answer.prompt_tokens
    c.usage.completion_tokens += answer.completion_tokens
    c.usage.cost_usd += answer.cost_usd


def _answered(s: Step, answer: AIReply, *, accounted: bool = False) -> None:
    c, job = s.state, s.job
    assert job.turn is not None
    c.ai_turns += 1
    if not accounted:
        _account(c, answer)
    c.last_model_version = answer.model_version
    safe = redact(answer.text)
    _shadow(s, job.turn, answer.model_version, safe)
    if answer.action is AIAction.ESCALATE and c.supervision is not None:
        safe = ""  # a supervised AI's parting words are unreviewed: hand over without them
    checked = reply_safety.verdict(s, answer) if safe else reply_safety.Verdict()
    if checked.stopped:
        return  # refused or handed over: the draft is never sent
    why = (
        (checked.hold or job.safety_hold or review.needed(c.supervision, job.gate, safe))
        if safe
        else None
    )
    if why is None:
        _send(s, safe, answer.model_version, answer.action, answer.assessment)
        return
    assert c.supervision is not None
    c.drafts_held += 1
    draft = HeldDraft(
        draft_id=f"{job.turn}-{c.drafts_held}",
        text=safe,
        held_at=s.at,
        why=why,
        model_version=answer.model_version,
        action=answer.action,
        assessment=redact(answer.assessment) if answer.assessment else None,
    )
    review.hold(s, job.turn, draft)
    s.wait(WaitKind.REVIEW, 0, c.supervision.review_deadline_seconds, timer=True, draft=draft)


def review_decided(s: Step, response: ReviewResponse) -> None:
    """A supervisor's decision arrives by signal at any time; only the held draft's counts."""
    c, job = s.state, s.state.job
    pending = c.pending_draft
    if pending is None or job is None or job.wait is None or job.wait.kind is not WaitKind.REVIEW:
        review.ignore_response(s, response, "no draft is waiting for review")
    elif pending.draft_id != response.draft_id:
        review.ignore_response(s, response, f"draft {pending.draft_id} is the one waiting")
    else:
        _reviewed(s, response)


def on_review_deadline(s: Step) -> None:
    _reviewed(s, None)


def _reviewed(s: Step, response: ReviewResponse | None) -> None:
    job = s.job
    assert job.wait is not None and job.wait.draft is not None and job.turn is not None
    draft = job.wait.draft
    outcome = review.settle(s, job.turn, draft, response)
    if outcome.sent_text is None:
        assert outcome.trigger is not None
        handover.escalate(s, outcome.trigger, outcome.detail)
        return
    _send(s, outcome.sent_text, draft.model_version, draft.action, draft.assessment)


def _send(s: Step, safe: str, model_version: str, action: AIAction, assessment: str | None) -> None:
    """The (reviewed) answer reaches the customer; the AI's action decides what comes next."""
    c, job = s.state, s.job
    assert job.turn is not None and c.decision is not None
    notice = regulation.notices(s) if safe else ""  # the duties' notices, first AI reply
    if notice:
        s.append(job.turn, Sender.SYSTEM, notice)
    if safe:
        s.append(job.turn, Sender.AI, safe)
    shown = f"{notice} {safe}".strip()
    topics.answered(c, action.value)
    s.audit(
        "ai_response", {"turn": job.turn, "model_version": model_version, "action": action.value}
    )
    if action is AIAction.RESOLVE:
        c.resolved_by_ai = True
        c.ai_ended_at = s.at
        handover.set_outcome(s, Outcome.CONTAINED, "resolved_by_ai")
        reply = Reply(
            turn=job.turn, sender=Sender.AI, text=shown, kind="closing", model_version=model_version
        )
        jobs.end_job(s, reply)
        return
    after = check_escalation(
        customer_text="",
        ai_turns=c.ai_turns,
        resolved=False,
        ai_action=action,
        ai_assessment=assessment,
        out_of_scope=False,
        policy=c.decision.escalation,
    )
    if after is None:
        reply = Reply(turn=job.turn, sender=Sender.AI, text=shown, model_version=model_version)
        jobs.end_job(s, reply)
        return
    c.ai_assessment = redact(assessment) if assessment else None
    job.prefix, job.model_version = shown, model_version
    handover.escalate(s, after.trigger, after.detail)


def _shadow(s: Step, turn: int, live_version: str, live_text: str) -> None:
    """A copy of the turn for the shadow version: stored for comparison, never delivered."""
    c = s.state
    shadow = c.decision.shadow_endpoint if c.decision else None
    if shadow is None:
        return
    seconds = SHADOW_ATTEMPTS * (shadow.timeout_seconds + SHADOW_ATTEMPT_MARGIN_SECONDS)
    op = s.next_op()
    request = ai_request(c, turn, shadow, f"shadow-{turn}")
    shadowed = ShadowRequest(request=request, live_model_version=live_version, live_text=live_text)
    s.emit(CallShadow(op=op, timeout_seconds=seconds, request=shadowed))
    c.shadows[op] = s.after(seconds)

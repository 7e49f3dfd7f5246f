"""Opening: redact the input, choose the orchestration pattern, triage (classify, route, plan the
supervision), settle the parallel pattern's human reservation, then the first customer turn.

The parallel pattern asks the ACD for a human at once and races the triage: if the AI takes the
interaction the reservation is released (and the wait it saved counted), otherwise the transfer
converts it. A reservation that answers late, after the interaction stopped waiting for it, is
released at once: no seat is ever left held.
"""

from __future__ import annotations

from models.abuse import LimitStage
from models.acd import ReservationRequest
from models.interaction import EscalationTrigger, InteractionState, OrchestrationPattern, Route
from models.interaction_state import InteractionCarry, Job, JobKind, ReservationStatus, WaitKind
from models.lifecycle import (
    ChoosePattern,
    CommandDone,
    CommandFailed,
    Event,
    PatternChosen,
    ReleaseReservation,
    ReservationAcked,
    ReserveHuman,
    Started,
    Triage,
    Triaged,
)
from models.triage import PatternChoice, PatternRequest, TriageRequest, TriageResult
from warmline.lifecycle import (
    admission,
    changes,
    handover,
    jobs,
    redacting,
    regulation,
    review,
    screening,
)
from warmline.lifecycle.transition import (
    PATTERN_SECONDS,
    RELEASE_SECONDS,
    RESERVE_SECONDS,
    TRIAGE_SECONDS,
    Step,
    idempotency_key,
)
from warmline.pii import new_state
from warmline.redaction import redact, redact_value

RESERVATION_QUEUE_KEY = "queue"


def start(e: Started) -> Step:
    """A new interaction: nothing from the input is kept unredacted."""
    request = e.request.model_copy(
        # The first message is set below, redacted as the interaction's message 0.
        update={"first_message": "", "metadata": redact_value(e.request.metadata)}
    )
    state = InteractionCarry(
        request=request,
        redaction=new_state(f"{e.workflow_id}:{e.at}"),
        workflow_id=e.workflow_id,
        channel=request.channel,
        started_at=e.at,
        last_activity_at=e.at,
        job=Job(kind=JobKind.OPENING),
        turn_intents=e.turn_intents,
        execution_id=e.execution_id,
        legacy=list(e.legacy),
        safety_gates=e.safety,
    )
    s = Step(state, e.at)
    first = redacting.customer_text(s, e.request.first_message)
    state.request = request = request.model_copy(update={"first_message": first})
    if e.safety:
        gate = changes.made(state, changes.START_GATE)
        ahead = _pattern_request(state) if gate else None
        screen = screening.first_message(state) if gate else None
        # The gate fills in the pattern it chooses (the placeholder never routes anything).
        with_triage = gate and changes.made(state, changes.START_TRIAGE)
        triage = _triage_request(state, OrchestrationPattern.PRE_ACD) if with_triage else None
        admission.check(s, LimitStage.START, request.first_message, screen, ahead, triage)
    else:
        choose_pattern(s)
    return s


def _pattern_request(c: InteractionCarry) -> PatternRequest:
    request = c.request
    return PatternRequest(
        entry_point=request.entry_point, has_upstream_intent=request.upstream_intent is not None
    )


def admitted(s: Step, chosen: PatternChoice | None, triaged: TriageResult | None = None) -> None:
    """The start is admitted, its pattern chosen with the check (``changes.START_GATE``) or not,
    and maybe triaged with it too (``changes.START_TRIAGE``)."""
    if chosen is None:
        choose_pattern(s)
    else:
        on_pattern(s, PatternChosen(at=s.at, op=0, choice=chosen), triaged)


def choose_pattern(s: Step) -> None:
    """The start is admitted: which orchestration pattern the entry point asks for."""
    op = s.next_op()
    choose = _pattern_request(s.state)
    s.emit(ChoosePattern(op=op, timeout_seconds=PATTERN_SECONDS, request=choose))
    s.wait(WaitKind.PATTERN, op, PATTERN_SECONDS)


def on_pattern(s: Step, result: Event, triaged: TriageResult | None = None) -> None:
    """The pattern is known: triage next (``triaged``: already done by the admission check's
    activity under that pattern, so its result is taken as the triage's)."""
    c = s.state
    match result:
        case PatternChosen(choice=choice):
            c.pattern, c.pattern_reason = choice.pattern, choice.reason
        case CommandFailed(error=error):
            c.pattern = OrchestrationPattern.PRE_ACD
            c.pattern_reason = f"pattern selection failed ({redact(error)}); default pre_acd"
        case _:
            s.ignore(f"{result.kind} does not answer a pattern choice")
            return
    if c.pattern is OrchestrationPattern.PARALLEL:
        _reserve(s)
    op = s.next_op()
    if triaged is not None and c.pattern is not OrchestrationPattern.PARALLEL:
        on_triage(s, Triaged(at=s.at, op=op, result=triaged))
        return
    triage = _triage_request(c, c.pattern)
    s.emit(Triage(op=op, timeout_seconds=TRIAGE_SECONDS, request=triage))
    s.wait(WaitKind.TRIAGE, op, TRIAGE_SECONDS)


def _triage_request(c: InteractionCarry, pattern: OrchestrationPattern) -> TriageRequest:
    return TriageRequest(
        interaction_id=c.request.interaction_id,
        text=c.request.first_message,
        channel=c.channel,
        segment=c.request.customer.segment,
        language=c.request.customer.language,
        region=c.request.customer.region,
        jurisdiction=regulation.jurisdiction(c),
        entry_point=c.request.entry_point,
        pattern=pattern,
        upstream_intent=c.request.upstream_intent,
    )


def _reserve(s: Step) -> None:
    """Ask the ACD for a human now; the AI may still win the race and release it."""
    c = s.state
    op = s.next_op()
    c.human.reservation = ReservationStatus.REQUESTED
    c.human.reservation_op = op
    c.human.reservation_deadline = s.after(RESERVE_SECONDS)
    request = ReservationRequest(
        idempotency_key=idempotency_key(c, "reserve"),
        interaction_id=c.request.interaction_id,
        workflow_id=c.workflow_id,
        queue=str(c.request.metadata.get(RESERVATION_QUEUE_KEY, "general")),
        channel=c.channel,
    )
    s.emit(ReserveHuman(op=op, timeout_seconds=RESERVE_SECONDS, request=request))


def on_triage(s: Step, result: Event) -> None:
    c = s.state
    match result:
        case Triaged(result=triage):
            c.classification, c.decision = triage.classification, triage.decision
            c.intents_seen = [triage.classification.intent]
            s.record_decision(triage.decision, [c.pattern_reason], classify_ms=triage.classify_ms)
            review.apply_plan(s, triage.supervision)
            regulation.adopt(s, triage.compliance)
        case CommandFailed(error=error):
            # Without a route nobody can say the AI may answer: a human takes it.
            s.audit("triage_failed", {"error": redact(error)})
            regulation.adopt(s, None, failed=True)
        case _:
            s.ignore(f"{result.kind} does not answer a triage")
            return
    _after_triage(s)


def _after_triage(s: Step) -> None:
    human = s.state.human
    if human.reservation is ReservationStatus.REQUESTED:
        assert human.reservation_op is not None and human.reservation_deadline is not None
        s.wait(WaitKind.RESERVATION, human.reservation_op, until=human.reservation_deadline)
    elif human.reservation is ReservationStatus.HELD:
        _settle(s)
    else:
        _first_turn(s)


def _to_human(c: InteractionCarry) -> bool:
    return c.decision is None or c.decision.route is Route.HUMAN


def _settle(s: Step) -> None:
    """Human work converts the reservation (the transfer carries it); AI work releases it."""
    c = s.state
    if _to_human(c):
        c.human.saved_wait_seconds = 0.0  # the seat is used, not saved
        _first_turn(s)
        return
    assert c.human.reservation_id is not None
    op = s.next_op()
    s.emit(
        ReleaseReservation(
            op=op, timeout_seconds=RELEASE_SECONDS, reservation_id=c.human.reservation_id
        )
    )
    s.wait(WaitKind.RELEASE, op, RELEASE_SECONDS)


def on_reservation(s: Step, result: Event) -> None:
    """The reservation's answer, whenever it comes (during or after the opening)."""
    c = s.state
    human = c.human
    match result:
        case ReservationAcked(ack=ack) if human.reservation is ReservationStatus.REQUESTED:
            human.reservation = ReservationStatus.HELD
            human.reservation_id = ack.reservation_id
            human.saved_wait_seconds = ack.estimated_wait_seconds  # if the AI frees it
        case ReservationAcked(ack=ack) if ack.reservation_id == human.reservation_id:
            s.ignore(f"reservation {ack.reservation_id} acknowledged twice")
            return
        case ReservationAcked(ack=ack):
            # Nobody waits for this seat any more (the request timed out): free it at once.
            if human.reservation is ReservationStatus.FAILED:
                human.reservation = ReservationStatus.RELEASED
                human.reservation_id = ack.reservation_id
            s.audit("reservation_released", {"reservation_id": ack.reservation_id, "late": True})
            s.emit(
                ReleaseReservation(
                    op=s.next_op(),
                    timeout_seconds=RELEASE_SECONDS,
                    reservation_id=ack.reservation_id,
                )
            )
            return
        case CommandFailed(error=error) if human.reservation is ReservationStatus.REQUESTED:
            human.reservation = ReservationStatus.FAILED
            s.audit("reservation_failed", {"error": redact(error)})
        case _:
            s.ignore(f"{result.kind} for a reservation already {human.reservation}")
            return
    job = c.job
    if job is not None and job.wait is not None and job.wait.kind is WaitKind.RESERVATION:
        _after_triage(s)


def on_release(s: Step, result: Event) -> None:
    if released(s, result, saved_a_wait=True):
        _first_turn(s)


def released(s: Step, result: Event, *, saved_a_wait: bool) -> bool:
    """A release's result on the record; False when ``result`` does not answer one. Only a
    seat the AI freed in the parallel race saved a human's wait."""
    human = s.state.human
    match result:
        case CommandDone():
            human.reservation = ReservationStatus.RELEASED
            human.reservation_released = saved_a_wait
            human.saved_wait_seconds = human.saved_wait_seconds if saved_a_wait else 0.0
            s.audit(
                "reservation_released",
                {
                    "reservation_id": human.reservation_id,
                    "saved_wait_seconds": human.saved_wait_seconds,
                },
            )
        case CommandFailed(error=error):
            human.reservation = ReservationStatus.FAILED
            human.saved_wait_seconds = 0.0
            s.audit("reservation_release_failed", {"error": redact(error)})
        case _:
            s.ignore(f"{result.kind} does not answer a release")
            return False
    return True


def _first_turn(s: Step) -> None:
    """The opening is done: the first message becomes turn 1, for the AI or a human."""
    c, opening = s.state, s.job
    job = jobs.begin_turn(s, c.request.first_message, None, [])
    job.screen_asked, job.prescreen = opening.screen_asked, opening.prescreen
    if _to_human(c):
        reasons = "; ".join(c.decision.reasons) if c.decision else "routing failed"
        handover.escalate(s, EscalationTrigger.ROUTED_TO_HUMAN, reasons)
        return
    c.state = InteractionState.AI_ACTIVE
    c.ai_started_at = s.at
    screening.begin_ai(s)

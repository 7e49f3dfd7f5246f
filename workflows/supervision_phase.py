"""``SupervisionPhaseWorkflow``: one intent's (or intent x channel's) road from pilot to
maturity, and back when the AI regresses.

pilot (fully supervised) -> scaling (semi-autonomous) -> maturity (fully autonomous). Every
``evaluation_interval`` the workflow reads evidence from the store and asks the pure
``evaluate_phase``. A regression demotes at once (customers are at risk now); a promotion is
only *proposed*: it waits for a human ``sign_off`` until a deadline, after which the proposal
lapses on the record. A ``new_model_version`` puts the intent back in pilot. Every move writes a
new supervision policy version and a ``wfm-events`` entry with its staffing impact. All state is
one ``SupervisionPhaseState``, carried through continue-as-new so history stays bounded.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.supervision import SupervisionActivities
    from models.boundary import RejectedPayload
    from models.supervision_phase import (
        HISTORY_KEPT,
        NEW_MODEL_VERSION_SIGNAL,
        SIGN_OFF_SIGNAL,
        SUPERVISION_PHASE_WORKFLOW,
        EvidenceRequest,
        MoveKind,
        NewModelVersion,
        Phase,
        PhaseEventRecord,
        PhaseEvidence,
        PhaseHistoryEntry,
        PhaseMoveRequest,
        PhaseProposal,
        SignOff,
        SignOffDecision,
        SupervisionPhaseInput,
        SupervisionPhaseState,
        SupervisionPhaseStatus,
        VerdictAction,
        supervision_phase_stream,
    )
    from warmline.supervision import evaluate_phase
    from workflows import boundary

EVIDENCE_TIMEOUT = timedelta(seconds=60)
"""One evidence query over the window's facts; generous for a large PostgreSQL table."""
MOVE_TIMEOUT = timedelta(seconds=30)
EVENT_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["InvalidInput"],
)
"""The store may be down for a while; keep trying (without limit) unless the input is bad."""
SYSTEM_ACTOR = "warmline"


Inbox = SignOff | NewModelVersion | tuple[str, RejectedPayload]
"""A command, or a rejected signal (its name and why): recorded, never allowed to fail the run."""


@workflow.defn(name=SUPERVISION_PHASE_WORKFLOW)
class SupervisionPhaseWorkflow:
    def __init__(self) -> None:
        self._start: SupervisionPhaseInput | None = None
        self._s: SupervisionPhaseState | None = None
        # Signals only queue here, in arrival order; the run loop acts on them one at a time,
        # so a reset and a sign-off arriving together are handled in the order they were sent.
        self._inbox: list[Inbox] = []

    # -- lifecycle ------------------------------------------------------------------------
    @workflow.run
    async def run(self, start: SupervisionPhaseInput) -> SupervisionPhaseState:
        self._start = start
        carried = boundary.carried_state(start)
        if carried is None:
            self._s = start.initial_state()
            self._s.audit_seq = await workflow.execute_activity_method(
                SupervisionActivities.phase_stream_tail,
                self._stream,
                start_to_close_timeout=EVENT_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            await self._move(
                MoveKind.START, Phase.PILOT, SYSTEM_ACTOR, ["new intent starts in pilot"]
            )
        else:
            self._s = carried
        evaluations_this_run = 0
        while True:
            while self._inbox:
                await self._handle(self._inbox.pop(0))
            now = workflow.now()
            pending = self.state.pending
            if pending is not None and now >= pending.deadline:
                await self._lapse("no sign-off before the deadline")
            if now >= self._next_evaluation():
                await self._evaluate()
                evaluations_this_run += 1
            if not self._inbox and (
                evaluations_this_run >= self.state.max_evaluations_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                await self._continue_as_new()
            # asyncio.TimeoutError is TimeoutError since 3.11: the wake-up for the next due time.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=self._next_wake())

    @property
    def state(self) -> SupervisionPhaseState:
        assert self._s is not None, "state is set before the first await"
        return self._s

    @property
    def _stream(self) -> str:
        return supervision_phase_stream(self.state.intent, self.state.channel)

    def _next_evaluation(self) -> datetime:
        s = self.state
        anchors = [t for t in (s.entered_at, s.last_evaluated_at) if t is not None]
        base = max(anchors) if anchors else workflow.now()
        return base + timedelta(seconds=s.evaluation_interval_seconds)

    def _next_wake(self) -> timedelta:
        wake = self._next_evaluation()
        if self.state.pending is not None:
            wake = min(wake, self.state.pending.deadline)
        # A zero timeout would mean "no timeout"; never wait less than a second.
        return max(wake - workflow.now(), timedelta(seconds=1))

    async def _continue_as_new(self) -> None:
        assert self._start is not None
        state = self.state.model_copy(update={"run_index": self.state.run_index + 1})
        await boundary.continue_as_new(self._start, state, idle=lambda: not self._inbox)

    # -- messages -------------------------------------------------------------------------
    @workflow.signal(name=SIGN_OFF_SIGNAL)
    def sign_off(self, command: SignOff | RejectedPayload | None = None) -> None:
        self._queue(SIGN_OFF_SIGNAL, boundary.accept(command, SignOff, SIGN_OFF_SIGNAL))

    @workflow.signal(name=NEW_MODEL_VERSION_SIGNAL)
    def new_model_version(self, command: NewModelVersion | RejectedPayload | None = None) -> None:
        self._queue(
            NEW_MODEL_VERSION_SIGNAL,
            boundary.accept(command, NewModelVersion, NEW_MODEL_VERSION_SIGNAL),
        )

    def _queue(self, name: str, command: SignOff | NewModelVersion | RejectedPayload) -> None:
        # A bad payload is recorded as rejected: failing the run would lose the intent's phase.
        self._inbox.append((name, command) if isinstance(command, RejectedPayload) else command)

    @workflow.query(name="status")
    def status(self) -> SupervisionPhaseStatus:
        # A query must not change state: it returns a copy.
        s = self.state.model_copy(deep=True)
        return SupervisionPhaseStatus(workflow_id=workflow.info().workflow_id, state=s, mode=s.mode)

    async def _handle(self, message: Inbox) -> None:
        if isinstance(message, tuple):
            signal, rejected = message
            await self._note("signal_rejected", SYSTEM_ACTOR, [f"{signal}: {rejected.reason}"])
        elif isinstance(message, NewModelVersion):
            await self._reset(message)
        else:
            await self._answer(message)

    async def _reset(self, message: NewModelVersion) -> None:
        s = self.state
        if message.version == s.model_version:
            await self._note(
                "model_version_unchanged", SYSTEM_ACTOR, [f"{message.version} is current"]
            )
            return
        if s.pending is not None:
            await self._lapse(f"superseded by model version {message.version}")
        previous = s.model_version
        s.model_version = message.version
        await self._move(
            MoveKind.RESET,
            Phase.PILOT,
            SYSTEM_ACTOR,
            [f"model version {previous} -> {message.version}: starts in pilot", message.reason],
        )

    async def _answer(self, sign_off: SignOff) -> None:
        pending = self.state.pending
        if pending is None or (
            sign_off.proposal_id is not None and sign_off.proposal_id != pending.proposal_id
        ):
            await self._note(
                "sign_off_ignored",
                sign_off.approver,
                [f"no pending proposal {sign_off.proposal_id or ''}".strip()],
            )
            return
        reason = sign_off.reason or "no reason given"
        if sign_off.decision is SignOffDecision.REFUSE:
            self.state.pending = None
            await self._note(
                "promotion_refused", sign_off.approver, [reason], pending.target, pending
            )
            return
        await self._note("promotion_signed_off", sign_off.approver, [reason], pending.target)
        await self._move(
            MoveKind.PROMOTION,
            pending.target,
            sign_off.approver,
            [*pending.reasons, f"signed off by {sign_off.approver}: {reason}"],
            self.state.last_evidence,
        )

    # -- evaluation and moves -------------------------------------------------------------
    async def _evaluate(self) -> None:
        s = self.state
        now = workflow.now()
        evidence = await workflow.execute_activity_method(
            SupervisionActivities.gather_phase_evidence,
            EvidenceRequest(
                intent=s.intent,
                channel=s.channel,
                model_version=s.model_version,
                phase_started_at=s.entered_at or now,
                now=now,
                window_days=s.criteria.window_days,
            ),
            start_to_close_timeout=EVIDENCE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        verdict = evaluate_phase(s, evidence)
        s.last_evidence, s.last_verdict, s.last_evaluated_at = evidence, verdict, now
        s.evaluations += 1
        if verdict.action is VerdictAction.DEMOTE and verdict.target is not None:
            if s.pending is not None:
                await self._lapse("superseded by a demotion")
            await self._move(
                MoveKind.DEMOTION, verdict.target, SYSTEM_ACTOR, verdict.reasons, evidence
            )
        elif verdict.action is VerdictAction.PROMOTE_READY and verdict.target is not None:
            if s.pending is None:
                s.pending = PhaseProposal(
                    proposal_id=f"proposal-{s.moves}-{s.evaluations}",
                    target=verdict.target,
                    proposed_at=now,
                    deadline=now + timedelta(seconds=s.sign_off_deadline_seconds),
                    reasons=verdict.reasons,
                )
                await self._note(
                    "promotion_proposed", SYSTEM_ACTOR, verdict.reasons, verdict.target, s.pending
                )
        elif s.pending is not None:
            # Inconclusive or worse never promotes: the evidence no longer backs the proposal.
            await self._lapse("withdrawn: " + "; ".join(verdict.reasons))

    async def _lapse(self, why: str) -> None:
        pending = self.state.pending
        self.state.pending = None
        if pending is not None:
            await self._note("promotion_lapsed", SYSTEM_ACTOR, [why], pending.target, pending)

    async def _move(
        self,
        kind: MoveKind,
        target: Phase,
        actor: str,
        reasons: list[str],
        evidence: PhaseEvidence | None = None,
    ) -> None:
        s = self.state
        info = workflow.info()
        now = workflow.now()
        s.moves += 1
        s.audit_seq += 1
        from_phase = None if kind is MoveKind.START else s.phase
        result = await workflow.execute_activity_method(
            SupervisionActivities.apply_phase_move,
            PhaseMoveRequest(
                # The chain's first run id: a later workflow for the same intent writes anew.
                move_key=f"{info.workflow_id}/{info.first_execution_run_id}/move-{s.moves}",
                kind=kind,
                intent=s.intent,
                channel=s.channel,
                from_phase=from_phase,
                to_phase=target,
                actor=actor,
                at=now,
                reasons=reasons,
                evidence=evidence,
                audit_stream=self._stream,
                audit_seq=s.audit_seq,
            ),
            start_to_close_timeout=MOVE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        s.phase, s.entered_at, s.pending = target, now, None
        s.last_evaluated_at = None
        s.policy_version, s.last_staffing = result.policy_version, result.staffing
        self._remember(kind.value, actor, reasons, target, from_phase)

    async def _note(
        self,
        kind: str,
        actor: str,
        reasons: list[str],
        target: Phase | None = None,
        proposal: PhaseProposal | None = None,
    ) -> None:
        """Record a non-move event on the phase stream and in the state's short history."""
        s = self.state
        s.audit_seq += 1
        payload: dict[str, Any] = {
            "intent": s.intent,
            "channel": s.channel,
            "phase": s.phase.value,
            "target": target.value if target else None,
            "reasons": reasons,
        }
        if proposal is not None:
            payload["proposal"] = proposal.model_dump(mode="json")
        await workflow.execute_activity_method(
            SupervisionActivities.record_phase_event,
            PhaseEventRecord(
                stream=self._stream,
                seq=s.audit_seq,
                kind=kind,
                at=workflow.now(),
                actor=actor,
                payload=payload,
            ),
            start_to_close_timeout=EVENT_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._remember(kind, actor, reasons, target)

    def _remember(
        self,
        kind: str,
        actor: str,
        reasons: list[str],
        target: Phase | None,
        phase: Phase | None = None,
    ) -> None:
        s = self.state
        entry = PhaseHistoryEntry(
            at=workflow.now(),
            kind=kind,
            actor=actor,
            phase=phase or s.phase,
            target=target,
            reasons=reasons,
        )
        s.history = [*s.history, entry][-HISTORY_KEPT:]

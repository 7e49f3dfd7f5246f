"""``CanaryRolloutWorkflow``: a new AI agent version earns traffic step by step, or is rolled back.

The workflow feeds events to ``warmline.rollout.transition`` (the whole state machine) and
performs the actions it returns: set the canary's weight, promote, roll back, record the
decision. Between events it sleeps on durable timers, so bake times of hours cost nothing and a
worker restart mid-step resumes where it was. Metrics are polled every ``poll_seconds``; each
poll and each decision is in the history, each decision also on the ``fleet`` audit stream.
All state is one ``CanaryState``; continue-as-new carries it to keep the history bounded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.fleet import FleetActivities
    from models.boundary import RejectedPayload
    from models.canary import (
        AbortRequested,
        AbortRollout,
        ApplyFailed,
        CanaryPhase,
        CanaryRolloutInput,
        CanaryState,
        CanaryStatus,
        MetricsObserved,
        ObserveCanary,
        PauseRequested,
        PauseRollout,
        PromoteAction,
        PromoteNow,
        PromoteNowRequested,
        RecordDecision,
        ResumeRequested,
        ResumeRollout,
        RollBackAction,
        RolloutAction,
        RolloutEvent,
        RolloutStarted,
        SetCanaryWeight,
        ShadowGateFailed,
    )
    from models.fleet import (
        CANARY_WORKFLOW,
        PromoteCanary,
        RegistryChange,
        RegistryChangeResult,
        RejectCanary,
        SetCanaryShare,
    )
    from models.fleet_analysis import AnalysisResult
    from models.routing import EndpointRole
    from models.shadow import ShadowReport, ShadowReportRequest
    from warmline.rollout import transition, waiting_for
    from warmline.shadow_judge import canary_gate
    from workflows import boundary
    from workflows import fleet_helpers as helpers


SHADOW_GATE_PATCH = "canary-shadow-gate"
"""Rollouts that require a passing shadow report ask for one before the first step."""
SHADOW_REPORT_ACTIVITY = "shadow_report"
"""``activities.shadow.ShadowActivities.shadow_report`` on the fleet worker (by name: the
workflow never imports the encoder's runtime)."""
SHADOW_REPORT_TIMEOUT = timedelta(minutes=2)
"""Loading the encoder on a worker's first report, then scoring a few thousand answers."""


@workflow.defn(name=CANARY_WORKFLOW)
class CanaryRolloutWorkflow:
    def __init__(self) -> None:
        self._input: CanaryRolloutInput | None = None
        self._state: CanaryState | None = None
        # Signals only queue events; the run loop feeds them to the machine in order.
        self._events: list[RolloutEvent] = []
        self._rejected = helpers.RejectedSignals()

    @property
    def input(self) -> CanaryRolloutInput:
        assert self._input is not None
        return self._input

    @property
    def state(self) -> CanaryState:
        assert self._state is not None
        return self._state

    @workflow.run
    async def run(self, request: CanaryRolloutInput) -> CanaryState:
        self._input = request
        carried = boundary.carried_state(request)
        if carried is None:
            baseline = await self._baseline_versions()
            self._state = CanaryState(
                agent=self.input.agent,
                canary_version=self.input.canary_version,
                baseline_versions=baseline,
            )
            await self._start()
        else:
            self._state = carried.model_copy(
                update={"polls_this_run": 0, "run_index": carried.run_index + 1}
            )
        clock = helpers.PollClock(self.input.rollout.poll_seconds)
        while not self.state.terminal:
            if self.state.phase is CanaryPhase.BAKING:
                clock.start()  # paused rollouts do not poll
            await workflow.wait_condition(lambda: not self._idle() or clock.fired())
            if self._rejected:
                await self._rejected.audit()
            if self._events:
                await self._feed(self._events.pop(0))
                continue
            if clock.take() and self.state.phase is CanaryPhase.BAKING:
                await self._poll()
            if self._continue_as_new_due():
                await boundary.continue_as_new(self.input, self.state, idle=self._idle)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    # -- lifecycle helpers ------------------------------------------------------------------
    async def _start(self) -> None:
        """Start the rollout, after a passed shadow report when the rollout requires one."""
        notes: list[str] = []
        gate = self.input.rollout.shadow_gate
        if gate is not None and workflow.patched(SHADOW_GATE_PATCH):
            report = await workflow.execute_activity(
                SHADOW_REPORT_ACTIVITY,
                ShadowReportRequest(
                    endpoint=f"{self.state.agent}:{self.state.canary_version}", gate=gate
                ),
                result_type=ShadowReport,
                start_to_close_timeout=SHADOW_REPORT_TIMEOUT,
                retry_policy=helpers.OBSERVE_RETRY,
            )
            allowed, notes = canary_gate(report)
            if not allowed:
                await self._feed(ShadowGateFailed(at=helpers.now(), reasons=notes))
                return
        await self._feed(RolloutStarted(at=helpers.now(), by=self.input.requested_by, notes=notes))

    async def _baseline_versions(self) -> list[str]:
        """Check the canary is registered as canary; the baseline defaults to production."""
        try:
            view = await helpers.read_registry(self.input.agent)
        except ActivityError as err:
            raise boundary.invalid_input("CanaryRolloutInput", f"agent: {err.cause}") from None
        roles = {row.version: row.role for row in view.endpoints}
        canary = self.input.canary_version
        if roles.get(canary) is not EndpointRole.CANARY:
            found = roles[canary].value if canary in roles else "not registered"
            raise boundary.invalid_input(
                "CanaryRolloutInput", f"canary_version: {self.input.agent}:{canary} is {found}"
            )
        baseline = self.input.baseline_versions or [
            v for v, role in roles.items() if role is EndpointRole.PRODUCTION
        ]
        missing = [v for v in baseline if roles.get(v) is not EndpointRole.PRODUCTION]
        if not baseline or missing:
            raise boundary.invalid_input(
                "CanaryRolloutInput",
                f"baseline_versions: no production baseline ({', '.join(missing) or 'none'})",
            )
        return baseline

    async def _poll(self) -> None:
        state = self.state
        assert state.started_at is not None and state.step_started_at is not None
        try:
            observation = await workflow.execute_activity_method(
                FleetActivities.observe_canary,
                ObserveCanary(
                    agent=state.agent,
                    canary_version=state.canary_version,
                    baseline_versions=state.baseline_versions,
                    since=state.started_at,
                    step_since=state.step_started_at,
                    step_index=state.step_index,
                    at=helpers.now(),
                    until=(
                        workflow.now() - timedelta(seconds=self.input.rollout.settle_seconds)
                    ).isoformat(),
                    template=self.input.rollout.analysis,
                    looks=len(self.input.rollout.steps),
                ),
                start_to_close_timeout=helpers.OBSERVE_TIMEOUT,
                retry_policy=helpers.OBSERVE_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("canary poll skipped: %s", err.cause or err)
            return
        state.polls += 1
        state.polls_this_run += 1
        await self._feed(MetricsObserved(at=observation.at, observation=observation))

    def _idle(self) -> bool:
        """Nothing queued by a signal for the loop."""
        return not self._events and not self._rejected

    def _continue_as_new_due(self) -> bool:
        if not self._idle() or self.state.terminal:
            return False
        return (
            self.state.polls_this_run >= self.input.rollout.max_polls_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _feed(self, event: RolloutEvent) -> None:
        self._state, actions = transition(self.state, event, self.input.rollout)
        for action in actions:
            await self._perform(action)

    async def _perform(self, action: RolloutAction) -> None:
        state = self.state
        prefix = helpers.key_prefix()
        decision_seq = len(state.decisions)
        match action:
            case SetCanaryWeight(percent=percent):
                change: RegistryChange = SetCanaryShare(
                    agent=state.agent, version=state.canary_version, percent=percent
                )
                try:
                    result = await self._apply(f"{prefix}/weight-{decision_seq}", change)
                except ActivityError as err:
                    self._events.insert(0, ApplyFailed(at=helpers.now(), reason=str(err.cause)))
                    return
                state.config_version = result.config_version
            # A refused promotion or rollback (someone edited the registry by hand) fails the
            # rollout where operators see it, instead of pretending the registry changed.
            case PromoteAction():
                change = PromoteCanary(agent=state.agent, version=state.canary_version)
                state.config_version = (
                    await self._apply(f"{prefix}/promote", change)
                ).config_version
            case RollBackAction():
                change = RejectCanary(agent=state.agent, version=state.canary_version)
                state.config_version = (
                    await self._apply(f"{prefix}/reject", change)
                ).config_version
            case RecordDecision(decision=decision):
                analysis = state.analyses[-1] if decision.analysis_outcome else None
                await helpers.audit(
                    f"{prefix}/decision-{decision.seq}",
                    f"canary_{decision.kind.value}",
                    decision.by,
                    {
                        "workflow_id": workflow.info().workflow_id,
                        "agent": state.agent,
                        "canary": state.canary_version,
                        "baseline": state.baseline_versions,
                        "config_version": state.config_version,
                        **decision.model_dump(mode="json"),
                        "verdicts": _verdict_table(analysis) if analysis else [],
                    },
                )

    async def _apply(self, change_id: str, change: RegistryChange) -> RegistryChangeResult:
        actor = f"canary:{workflow.info().workflow_id}"
        reason = self.state.decisions[-1].reasons[0] if self.state.decisions else ""
        return await helpers.apply_registry_change(change_id, actor, reason, [change])

    # -- signals and query ---------------------------------------------------------------------
    @workflow.signal(name="pause")
    def pause(self, command: PauseRollout | RejectedPayload | None = None) -> None:
        if (accepted := self._rejected.accept(command, PauseRollout, "pause")) is not None:
            self._events.append(
                PauseRequested(at=helpers.now(), by=accepted.by, reason=accepted.reason)
            )

    @workflow.signal(name="resume")
    def resume(self, command: ResumeRollout | RejectedPayload | None = None) -> None:
        if (accepted := self._rejected.accept(command, ResumeRollout, "resume")) is not None:
            self._events.append(
                ResumeRequested(at=helpers.now(), by=accepted.by, reason=accepted.reason)
            )

    @workflow.signal(name="abort")
    def abort(self, command: AbortRollout | RejectedPayload | None = None) -> None:
        if (accepted := self._rejected.accept(command, AbortRollout, "abort")) is not None:
            self._events.append(
                AbortRequested(
                    at=helpers.now(),
                    by=accepted.by,
                    reason=accepted.reason,
                    leave_weights=accepted.leave_weights,
                )
            )

    @workflow.signal(name="promote_now")
    def promote_now(self, command: PromoteNow | RejectedPayload | None = None) -> None:
        if (accepted := self._rejected.accept(command, PromoteNow, "promote_now")) is not None:
            self._events.append(
                PromoteNowRequested(at=helpers.now(), by=accepted.by, reason=accepted.reason)
            )

    @workflow.query(name="status")
    def status(self) -> CanaryStatus:
        rollout = self.input.rollout if self._input else None
        state = self._state or CanaryState(
            agent=self._input.agent if self._input else "",
            canary_version=self._input.canary_version if self._input else "",
        )
        return CanaryStatus(
            workflow_id=workflow.info().workflow_id,
            state=state,
            steps=list(rollout.steps) if rollout else [],
            waiting_for=waiting_for(state, rollout, helpers.now()) if rollout else "start",
        )


def _verdict_table(analysis: AnalysisResult) -> list[dict[str, Any]]:
    """The evidence of a decision for auditors, compact: one row per check."""
    return [
        {
            "metric": v.metric.value,
            "outcome": v.outcome.value,
            "canary": v.canary_value,
            "baseline": v.baseline_value,
            "p_value": v.p_value,
            "alpha": v.alpha,
            "n_canary": v.n_canary,
            "n_baseline": v.n_baseline,
        }
        for v in analysis.verdicts
    ]

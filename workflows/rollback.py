"""``RollbackWorkflow``: take traffic away from a bad AI version, at once or step by step, or
take every AI version of some agents out and send their work to humans.

*Instant* moves all of the bad version's share to the target in one change (the target must be
warm). *Graduated* moves it in equal shifts on a durable timer, so the target's capacity is not
flooded: ``ceil(share / step_percent)`` shifts (or ``intervals``), one every
``interval_seconds``. *Failover to human* sets every live AI version of the agents to weight 0
and emits a WFM event so the real-time team can add staff. Operators start it from the CLI; the
health monitor starts it with any Temporal client (``runtime.rollback_start.start_rollback``). A
running canary rollout of the agent is told to stop first, so two workflows never fight over
weights.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.fleet import FleetActivities
    from models.canary import AbortRollout
    from models.fleet import (
        ROLLBACK_WORKFLOW,
        EmitWFMEvent,
        FailoverToHuman,
        RollbackInput,
        RollbackMode,
        RollbackPhase,
        RollbackState,
        WFMEventKind,
        canary_workflow_id,
    )
    from models.routing import EndpointRole
    from warmline.rollback_plan import shift_change
    from workflows import boundary
    from workflows import fleet_helpers as helpers

WFM_EVENT_TIMEOUT = helpers.AUDIT_TIMEOUT


@workflow.defn(name=ROLLBACK_WORKFLOW)
class RollbackWorkflow:
    def __init__(self) -> None:
        self._input: RollbackInput | None = None
        self._state: RollbackState | None = None

    @property
    def input(self) -> RollbackInput:
        assert self._input is not None
        return self._input

    @property
    def state(self) -> RollbackState:
        assert self._state is not None
        return self._state

    @workflow.run
    async def run(self, request: RollbackInput) -> RollbackState:
        self._input = request
        self._state = RollbackState(mode=self.input.mode, started_at=helpers.now())
        if self.input.mode is RollbackMode.FAILOVER_TO_HUMAN:
            await self._failover_to_human()
        else:
            await self._move_traffic()
        self.state.phase = RollbackPhase.DONE
        self.state.finished_at = helpers.now()
        await helpers.audit(
            f"{helpers.key_prefix()}/done",
            "rollback_done",
            self.input.requested_by,
            {"workflow_id": workflow.info().workflow_id, **self.state.model_dump(mode="json")},
        )
        return self.state

    @property
    def _actor(self) -> str:
        return f"rollback:{workflow.info().workflow_id}"

    async def _stop_canaries(self, agents: list[str]) -> None:
        """Abort running canary rollouts of ``agents`` without letting them touch weights."""
        for agent in agents:
            handle = workflow.get_external_workflow_handle(canary_workflow_id(agent))
            try:
                await handle.signal(
                    "abort",
                    AbortRollout(
                        by=self._actor,
                        reason=f"superseded by {self.input.mode.value} rollback",
                        leave_weights=True,
                    ),
                )
                self.state.reasons.append(f"stopped the canary rollout of {agent}")
            except FailureError:
                pass  # no rollout running for this agent: nothing to stop

    async def _move_traffic(self) -> None:
        try:
            plan = await workflow.execute_activity_method(
                FleetActivities.plan_rollback,
                self.input,
                start_to_close_timeout=helpers.REGISTRY_TIMEOUT,
                retry_policy=helpers.REGISTRY_RETRY,
            )
        except ActivityError as err:
            raise boundary.invalid_input("RollbackInput", str(err.cause or err)) from None
        state = self.state
        state.plan = plan
        state.phase = RollbackPhase.SHIFTING
        state.previous_shares = {plan.agent: dict(plan.start_shares)}
        state.reasons.append(
            f"{self.input.mode.value} rollback of {plan.agent}: {plan.from_version} "
            f"({plan.start_shares[plan.from_version]:g}%) -> {plan.to_version} in "
            f"{len(plan.shifts)} shift(s)"
        )
        await self._stop_canaries([plan.agent])
        for index in range(len(plan.shifts)):
            if index:
                await workflow.sleep(self.input.interval_seconds)
            result = await helpers.apply_registry_change(
                f"{helpers.key_prefix()}/shift-{index + 1}",
                self._actor,
                self.input.reason or state.reasons[0],
                [shift_change(plan, index)],
            )
            state.shifts_applied = index + 1
            state.config_versions.append(result.config_version)
        state.reasons.append(
            f"{plan.from_version} retired at 0%; {plan.to_version} carries its traffic"
        )

    async def _failover_to_human(self) -> None:
        state = self.state
        view = await helpers.read_registry(None)
        wanted = set(self.input.agents) or {row.name for row in view.endpoints}
        for row in view.endpoints:
            if row.name in wanted and row.share_percent > 0:
                state.previous_shares.setdefault(row.name, {})[row.version] = row.share_percent
        canaries = sorted(
            {row.name for row in view.endpoints if row.name in wanted}
            & {row.name for row in view.endpoints if row.role is EndpointRole.CANARY}
        )
        await self._stop_canaries(canaries)
        result = await helpers.apply_registry_change(
            f"{helpers.key_prefix()}/failover",
            self._actor,
            self.input.reason or "no healthy AI version",
            [FailoverToHuman(agents=self.input.agents)],
        )
        state.config_versions.append(result.config_version)
        state.reasons.extend(result.reasons)
        state.wfm_event = await workflow.execute_activity_method(
            FleetActivities.emit_wfm_event,
            EmitWFMEvent(
                key=f"{helpers.key_prefix()}/wfm",
                kind=WFMEventKind.AI_FAILOVER_TO_HUMAN,
                at=helpers.now(),
                agents=sorted(wanted),
                reason=self.input.reason or "failover to human",
                requested_by=self.input.requested_by,
                expected_duration_minutes=self.input.expected_duration_minutes,
            ),
            start_to_close_timeout=WFM_EVENT_TIMEOUT,
            retry_policy=helpers.REGISTRY_RETRY,
        )

    @workflow.query(name="status")
    def status(self) -> RollbackState:
        return self._state or RollbackState(
            mode=self._input.mode if self._input else RollbackMode.INSTANT
        )

"""``ABTestWorkflow``: two or more versions of an agent at a fixed split until the evidence is in.

The split is set once (absolute shares; arms that were not live become canary), then every
``poll_seconds`` the facts since the start are compared: lift with confidence intervals on
containment, handle time and CSAT for each variant against the control. A fixed design stops
at the pre-registered sample per arm; a sequential design stops as soon as its always-valid
test is decisive (never before ``min_sample_per_arm``) or at the same cap. While it runs, the
blended containment of the test population goes to WFM whenever it moves, because the human
staffing plan must cover the weaker arm's escalations. At the end the pre-test shares and
roles come back unless ``restore_on_finish`` is off.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.fleet import FleetActivities
    from models.boundary import RejectedPayload
    from models.fleet import (
        AB_TEST_WORKFLOW,
        ABPhase,
        ABTestInput,
        ABTestState,
        EmitWFMEvent,
        ObserveABTest,
        RegistryView,
        SetShares,
        StopABTest,
        WFMEventKind,
    )
    from models.fleet_analysis import ABReport
    from models.routing import LIVE_ROLES, EndpointRole
    from workflows import boundary
    from workflows import fleet_helpers as helpers


@workflow.defn(name=AB_TEST_WORKFLOW)
class ABTestWorkflow:
    def __init__(self) -> None:
        self._input: ABTestInput | None = None
        self._state: ABTestState | None = None
        self._stop: StopABTest | None = None
        self._rejected = helpers.RejectedSignals()

    @property
    def input(self) -> ABTestInput:
        assert self._input is not None
        return self._input

    @property
    def state(self) -> ABTestState:
        assert self._state is not None
        return self._state

    @workflow.run
    async def run(self, request: ABTestInput) -> ABTestState:
        self._input = request
        carried = boundary.carried_state(request)
        if carried is None:
            await self._start()
        else:
            self._state = carried.model_copy(
                update={"polls_this_run": 0, "run_index": carried.run_index + 1}
            )
        clock = helpers.PollClock(self.input.config.poll_seconds)
        while self.state.phase is ABPhase.RUNNING:
            clock.start()
            await workflow.wait_condition(
                lambda: self._stop is not None or bool(self._rejected) or clock.fired()
            )
            await self._rejected.audit()
            if self._stop is None and not clock.take():
                continue
            report = await self._observe()
            if self._stop is not None:
                await self._finish(ABPhase.STOPPED, f"stopped by {self._stop.by}", report)
            elif report is not None and report.concluded:
                await self._finish(ABPhase.CONCLUDED, report.reasons[0], report)
            elif self._continue_as_new_due():
                await boundary.continue_as_new(self.input, self.state, idle=self._idle)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _idle(self) -> bool:
        return self._stop is None and not self._rejected

    def _continue_as_new_due(self) -> bool:
        return (
            self.state.polls_this_run >= self.input.config.max_polls_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _start(self) -> None:
        agent, split = self.input.agent, self.input.resolved_split()
        try:
            view = await helpers.read_registry(agent)
        except ActivityError as err:
            raise boundary.invalid_input("ABTestInput", f"agent: {err.cause}") from None
        roles = self._check_arms(view)
        self._state = ABTestState(
            agent=agent,
            versions=list(self.input.versions),
            control=self.input.versions[0],
            split=split,
            started_at=helpers.now(),
            previous_shares={r.version: r.share_percent for r in view.endpoints if r.share_percent},
            previous_roles={version: roles[version] for version in self.input.versions},
        )
        arm_roles = {v: EndpointRole.CANARY for v in split if roles[v] not in LIVE_ROLES}
        result = await helpers.apply_registry_change(
            f"{helpers.key_prefix()}/split",
            f"abtest:{workflow.info().workflow_id}",
            self.input.reason or "A/B test split",
            [SetShares(agent=agent, shares=split, roles=arm_roles)],
        )
        self.state.reasons.extend(result.reasons)
        await helpers.audit(
            f"{helpers.key_prefix()}/started",
            "ab_test_started",
            self.input.requested_by,
            {"workflow_id": workflow.info().workflow_id, **self.state.model_dump(mode="json")},
        )

    def _check_arms(self, view: RegistryView) -> dict[str, EndpointRole]:
        roles = {row.version: row.role for row in view.endpoints}
        for version in self.input.versions:
            if version not in roles or roles[version] is EndpointRole.RETIRED:
                found = roles[version].value if version in roles else "not registered"
                raise boundary.invalid_input("ABTestInput", f"versions: {version} is {found}")
        outside = [
            row.version
            for row in view.endpoints
            if row.role is EndpointRole.CANARY
            and row.share_percent > 0
            and row.version not in self.input.versions
        ]
        if outside:
            raise boundary.invalid_input(
                "ABTestInput", f"agent: canary {', '.join(outside)} is live outside the test"
            )
        return roles

    async def _observe(self) -> ABReport | None:
        state = self.state
        assert state.started_at is not None
        try:
            report = await workflow.execute_activity_method(
                FleetActivities.observe_ab_test,
                ObserveABTest(
                    agent=state.agent,
                    control=state.control,
                    split=state.split,
                    since=state.started_at,
                    at=helpers.now(),
                    config=self.input.config,
                ),
                start_to_close_timeout=helpers.OBSERVE_TIMEOUT,
                retry_policy=helpers.OBSERVE_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("A/B poll skipped: %s", err.cause or err)
            return None
        state.polls += 1
        state.polls_this_run += 1
        state.last_report = report
        await self._tell_wfm(report)
        return report

    async def _tell_wfm(self, report: ABReport) -> None:
        """WFM plans with the blended containment; tell it when that moved noticeably."""
        blended, last = report.blended_containment, self.state.last_wfm_blended
        threshold = self.input.config.wfm_update_threshold
        if blended is None or (last is not None and abs(blended - last) < threshold):
            return
        self.state.last_wfm_blended = blended
        await workflow.execute_activity_method(
            FleetActivities.emit_wfm_event,
            EmitWFMEvent(
                key=f"{helpers.key_prefix()}/wfm-{self.state.polls}",
                kind=WFMEventKind.AB_TEST_BLENDED_CONTAINMENT,
                at=report.at,
                agents=[self.state.agent],
                reason=f"A/B test {', '.join(self.state.versions)} at split "
                + ", ".join(f"{v} {s:g}%" for v, s in self.state.split.items()),
                requested_by=self.input.requested_by,
                blended_containment=blended,
            ),
            start_to_close_timeout=helpers.AUDIT_TIMEOUT,
            retry_policy=helpers.REGISTRY_RETRY,
        )

    async def _finish(self, phase: ABPhase, reason: str, report: ABReport | None) -> None:
        state = self.state
        state.phase = phase
        state.finished_at = helpers.now()
        state.reasons.append(reason)
        if report is not None:
            state.last_report = report
        if self.input.config.restore_on_finish and state.previous_shares:
            restore = SetShares(
                agent=state.agent,
                shares=_to_hundred(state.previous_shares),
                roles=dict(state.previous_roles),
            )
            result = await helpers.apply_registry_change(
                f"{helpers.key_prefix()}/restore",
                f"abtest:{workflow.info().workflow_id}",
                f"A/B test {phase.value}: pre-test shares restored",
                [restore],
            )
            state.reasons.extend(result.reasons)
        await helpers.audit(
            f"{helpers.key_prefix()}/finished",
            f"ab_test_{phase.value}",
            self._stop.by if self._stop else "abtest",
            {"workflow_id": workflow.info().workflow_id, **state.model_dump(mode="json")},
        )

    @workflow.signal(name="stop")
    def stop(self, command: StopABTest | RejectedPayload | None = None) -> None:
        accepted = self._rejected.accept(command, StopABTest, "stop")
        if accepted is not None and self._stop is None:
            self._stop = accepted

    @workflow.query(name="status")
    def status(self) -> ABTestState:
        if self._state is not None:
            return self._state
        versions = list(self._input.versions) if self._input else []
        return ABTestState(
            agent=self._input.agent if self._input else "",
            versions=versions,
            control=versions[0] if versions else "",
            split={},
        )


def _to_hundred(shares: dict[str, float]) -> dict[str, float]:
    """Stored shares are rounded; rescale so they sum to exactly 100 again."""
    total = sum(shares.values())
    versions = sorted(shares)
    scaled = {v: shares[v] * 100.0 / total for v in versions}
    scaled[versions[-1]] = 100.0 - sum(scaled[v] for v in versions[:-1])
    return scaled

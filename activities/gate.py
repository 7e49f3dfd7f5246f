"""What the start or a later turn asks first, in one local activity: the abuse limits, then
(once admitted) a turn's injection screen and, when it allows the turn, the AI call beside the
intent check; or the start's orchestration pattern and triage.

Why one: each local activity the workflow waits on is a round through it (its result is a new
activation) before the next can start, and an admitted start always needs its pattern, a turn
the AI holds always its screen, call and intent check: one round for the turn instead of three.
The order keeps the limits' and the screen's promises: what the limits stop never reaches the
detector, and what the screen does not let through as it is never reaches an AI. A later turn's
intent classification alone starts first, beside the admission check and the screen: it is a
local forward pass (nothing leaves the worker), the longest part of a turn whose AI answers
quickly, and it is dropped when the limits or the screen stop the turn: a pass still queued
behind others is then skipped, so at most the pass already running is spent on a stopped
message (beside the workflow task and counter write it costs anyway), and a flood the limits
throttle does not queue passes behind a busy classifier. (Runs from before the call moved
here start the turn's classification after the screen instead, so its forward pass overlaps the
way back to the workflow.) A step that fails here is not retried here: the answer then lacks it
and the lifecycle asks for it with its own activity, retries and failure handling, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import activity

from activities.abuse import AbuseActivities
from activities.inputs import validated
from activities.safety import SafetyActivities
from models.ai import AIReply, AIRequest
from models.gate import GateAnswer, GateRequest, TurnAhead, TurnAnswered
from models.interaction import OrchestrationPattern
from models.safety import SafetyAction, ScreenRequest, TurnScreen
from models.triage import PatternChoice, PatternRequest, TriageRequest, TriageResult
from runtime.classification import BatchingClassifier
from warmline.routing import select_pattern

T = TypeVar("T")

_AI_ANSWERS = (SafetyAction.ALLOW, SafetyAction.HOLD_FOR_REVIEW)
"""Screen actions after which the AI answers the turn (and its intent check runs)."""


class GateActivities:
    def __init__(
        self,
        abuse: AbuseActivities,
        safety: SafetyActivities,
        classifier: BatchingClassifier | None = None,
        triage: Callable[[TriageRequest], Awaitable[TriageResult]] | None = None,
        ai: Callable[[AIRequest], Awaitable[AIReply]] | None = None,
    ) -> None:
        self.abuse = abuse
        self.safety = safety
        self.classifier = classifier
        self.triage = triage
        self.ai = ai

    @activity.defn
    async def pass_gates(self, request: GateRequest) -> GateAnswer:
        request = validated(GateRequest, request)
        ahead = self._classify_ahead(request.turn)
        # A failed count fails the activity (retried whole, as the check alone would be).
        decision = await self.abuse.check_admission(request.admission)
        answer = GateAnswer(decision=decision)
        if not decision.allowed:
            self._drop(ahead)
            return answer
        if request.pattern is not None:
            answer.pattern = await self._pattern(request.pattern)
        if request.screen is not None:
            answer.screen = await self._screen(request.screen)
            answered = answer.screen is None or answer.screen.decision.action in _AI_ANSWERS
            if not answered:
                self._drop(ahead)
            if request.classify_ahead and answered and self.classifier is not None:
                self.classifier.prefetch(request.admission.text)
            allowed = (
                answer.screen is not None and answer.screen.decision.action is SafetyAction.ALLOW
            )
            if request.turn is not None and allowed:
                answer.turn = await self._turn(request.turn)
        if request.triage is not None and answer.pattern is not None:
            answer.triage = await self._triage(request.triage, answer.pattern.pattern)
        return answer

    def _classify_ahead(self, ahead: TurnAhead | None) -> str | None:
        """Start the turn's classification for its intent check (see the module docstring);
        the check's triage takes it (``BatchingClassifier.classify_async``). Returns the text
        whose classification was started."""
        if ahead is None or ahead.check is None or self.classifier is None:
            return None
        if ahead.check.classification is not None or ahead.check.upstream_intent is not None:
            return None
        self.classifier.prefetch(ahead.check.text)
        return ahead.check.text

    def _drop(self, text: str | None) -> None:
        """The turn was stopped: its classification is not waited for (a pass still queued
        behind others is skipped), so a refused flood costs no forward passes when the
        classifier is busy."""
        if text is not None and self.classifier is not None:
            self.classifier.discard(text)

    async def _pattern(self, request: PatternRequest) -> PatternChoice | None:
        """The start's pattern; None (chosen by the lifecycle's own activity) if this fails."""

        async def choose() -> PatternChoice:
            config = await self.abuse.configs.get()
            pattern, reason = select_pattern(
                config, request.entry_point, request.has_upstream_intent
            )
            return PatternChoice(pattern=pattern, reason=reason, config_version=config.version)

        return await _or_none("pattern choice", choose())

    async def _triage(
        self, request: TriageRequest, pattern: OrchestrationPattern
    ) -> TriageResult | None:
        """The start's triage under the pattern just chosen; None (triaged by the lifecycle's
        own activity, as before) for the parallel pattern, or if this fails."""
        if self.triage is None or pattern is OrchestrationPattern.PARALLEL:
            return None
        return await _or_none(
            "triage", self.triage(request.model_copy(update={"pattern": pattern}))
        )

    async def _turn(self, ahead: TurnAhead) -> TurnAnswered:
        """The turn's AI call beside its intent check, once the turn is admitted and its screen
        allows it as it is (a held or refused turn is the lifecycle's to decide). Neither is
        retried here: a part that fails comes back None and the lifecycle makes it with its own
        activity and retries (the call under the same idempotency key)."""
        if self.ai is None:
            return TurnAnswered()
        call = _or_none("AI call", self.ai(ahead.ai))
        if ahead.check is None or self.triage is None:
            return TurnAnswered(reply=await call)
        reply, check = await asyncio.gather(
            call, _or_none("intent check", self.triage(ahead.check))
        )
        return TurnAnswered(reply=reply, check=check)

    async def _screen(self, request: ScreenRequest) -> TurnScreen | None:
        """The turn's screen; None (screened by the lifecycle's own activity) if this fails."""
        return await _or_none("screen", self.safety.screen_turn(request))


async def _or_none(step: str, work: Awaitable[T]) -> T | None:
    """A step after the admission check: its failure leaves it to the lifecycle's own activity
    (logged by type only: the message may carry the customer's words)."""
    try:
        return await work
    except Exception as exc:
        activity.logger.warning("gate: %s failed (%s)", step, type(exc).__name__)
        return None

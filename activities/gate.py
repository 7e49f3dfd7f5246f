"""What the start or a later turn asks first, in one local activity: the abuse limits, then
(once admitted) a turn's injection screen or the start's orchestration pattern.

Why one: each local activity the workflow waits on is a round through it (its result is a new
activation) before the next can start, and an admitted start always needs its pattern, a turn
the AI holds always its screen. The order keeps the limits' promise: what the limits stop never
reaches the detector (nor the classifier: a turn whose intent check follows starts its
classification here once admitted and let through to the AI, so the forward pass overlaps the way
back to the workflow). A step that fails here is not retried here: the answer then lacks it and
the lifecycle asks for it with its own activity, retries and failure handling, as before.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.abuse import AbuseActivities
from activities.safety import SafetyActivities
from models.gate import GateAnswer, GateRequest
from models.safety import SafetyAction, ScreenRequest, TurnScreen
from models.triage import PatternChoice, PatternRequest
from runtime.classification import BatchingClassifier
from warmline.routing import select_pattern

_AI_ANSWERS = (SafetyAction.ALLOW, SafetyAction.HOLD_FOR_REVIEW)
"""Screen actions after which the AI answers the turn (and its intent check runs)."""


class GateActivities:
    def __init__(
        self,
        abuse: AbuseActivities,
        safety: SafetyActivities,
        classifier: BatchingClassifier | None = None,
    ) -> None:
        self.abuse = abuse
        self.safety = safety
        self.classifier = classifier

    @activity.defn
    async def pass_gates(self, request: GateRequest) -> GateAnswer:
        try:
            request = GateRequest.model_validate(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ApplicationError(
                f"invalid GateRequest: {first['loc']}: {first['msg']}",
                type="InvalidGateRequest",
                non_retryable=True,
            ) from exc
        # A failed count fails the activity (retried whole, as the check alone would be).
        decision = await self.abuse.check_admission(request.admission)
        answer = GateAnswer(decision=decision)
        if not decision.allowed:
            return answer
        if request.pattern is not None:
            answer.pattern = await self._pattern(request.pattern)
        if request.screen is not None:
            answer.screen = await self._screen(request.screen)
            answered = answer.screen is None or answer.screen.decision.action in _AI_ANSWERS
            if request.classify_ahead and answered and self.classifier is not None:
                self.classifier.prefetch(request.admission.text)
        return answer

    async def _pattern(self, request: PatternRequest) -> PatternChoice | None:
        """The start's pattern; None (chosen by the lifecycle's own activity) if this fails."""
        try:
            config = await self.abuse.configs.get()
            pattern, reason = select_pattern(
                config, request.entry_point, request.has_upstream_intent
            )
        except Exception as exc:
            activity.logger.warning("gate: pattern choice failed (%s)", type(exc).__name__)
            return None
        return PatternChoice(pattern=pattern, reason=reason, config_version=config.version)

    async def _screen(self, request: ScreenRequest) -> TurnScreen | None:
        """The turn's screen; None (screened by the lifecycle's own activity) if this fails."""
        try:
            return await self.safety.screen_turn(request)
        except Exception as exc:
            activity.logger.warning("gate: screen failed (%s)", type(exc).__name__)
            return None

"""A later turn's two gates in one local activity: the abuse limits, then (once admitted) the
injection screen.

Why one: each local activity a turn waits on is a round through the workflow (its result is a
new activation) before the next can start, and a turn the AI holds always needs both answers.
The order keeps the limits' promise: a turn the limits stop never reaches the detector (nor the
classifier: a turn whose intent check follows starts its classification here once admitted and
let through to the AI, so the forward pass overlaps the way back to the workflow). A screen
that fails here is not retried here: the answer then carries no screen and the lifecycle screens
the turn with its own activity, retries and failure handling (``warmline.lifecycle.screening``).
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.abuse import AbuseActivities
from activities.safety import SafetyActivities
from models.abuse import TurnGate, TurnGateRequest
from models.safety import SafetyAction, TurnScreen
from runtime.classification import BatchingClassifier

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
    async def gate_turn(self, request: TurnGateRequest) -> TurnGate:
        try:
            request = TurnGateRequest.model_validate(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ApplicationError(
                f"invalid TurnGateRequest: {first['loc']}: {first['msg']}",
                type="InvalidTurnGateRequest",
                non_retryable=True,
            ) from exc
        # A failed count fails the activity (retried whole, as the check alone would be).
        decision = await self.abuse.check_admission(request.admission)
        if not decision.allowed or request.screen is None:
            return TurnGate(decision=decision)
        screen: TurnScreen | None = None
        try:
            screen = await self.safety.screen_turn(request.screen)
        except Exception as exc:  # screened again by the lifecycle's own activity
            activity.logger.warning("turn gate: screen failed (%s)", type(exc).__name__)
        answered = screen is None or screen.decision.action in _AI_ANSWERS
        if request.classify_ahead and answered and self.classifier is not None:
            self.classifier.prefetch(request.admission.text)
        return TurnGate(decision=decision, screen=screen)

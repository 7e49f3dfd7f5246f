"""Contracts of the gates' activity: what the start or a turn asks first, in one local activity
(``activities.gate``), and its answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.abuse import AbuseDecision, AdmissionRequest
from models.ai import AIReply, AIRequest
from models.safety import ScreenRequest, TurnScreen
from models.triage import PatternChoice, PatternRequest, TriageRequest, TriageResult


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnAhead(_Doc):
    """A later turn's AI call and intent check, asked with its admission check
    (``changes.TURN_AHEAD``): run only once the turn is admitted and its screen allows it, so
    what the limits or the screen stop never reaches an AI."""

    ai: AIRequest
    check: TriageRequest | None = Field(
        default=None, description="The turn's intent check (topic shifts), run beside the call."
    )


class TurnAnswered(_Doc):
    """What came of a :class:`TurnAhead`; a part that failed or did not run is None, and the
    lifecycle then asks for it with its own activity (retries and failure handling as before)."""

    reply: AIReply | None = None
    check: TriageResult | None = None


class GateRequest(_Doc):
    """One local activity for what the start or a turn asks first (``activities.gate``): the
    admission check and, once admitted, a turn's injection screen (the AI holds the
    conversation) or the start's orchestration pattern."""

    admission: AdmissionRequest
    screen: ScreenRequest | None = None
    pattern: PatternRequest | None = None
    classify_ahead: bool = Field(
        default=False,
        description="The turn's intent check follows the screen: once the turn is admitted and "
        "the AI may see it, its classification starts here (``BatchingClassifier.prefetch``).",
    )
    triage: TriageRequest | None = Field(
        default=None,
        description="The start's triage, run here once its pattern is chosen (the request's "
        "``pattern`` is replaced by that choice); not for the parallel pattern, whose human "
        "reservation goes out first.",
    )
    turn: TurnAhead | None = Field(
        default=None,
        description="A later turn's AI call and intent check, run here once the turn is admitted "
        "and its screen allows it (``changes.TURN_AHEAD``).",
    )


class GateAnswer(_Doc):
    """The gate's answer; ``screen``, ``pattern`` and ``triage`` only when admitted and asked
    for, and their step ran (else the lifecycle asks for them on their own, as before)."""

    decision: AbuseDecision
    screen: TurnScreen | None = None
    pattern: PatternChoice | None = None
    triage: TriageResult | None = None
    turn: TurnAnswered | None = None

"""Per-turn escalation triggers of the hybrid pattern: when an AI conversation goes to a human.

The workflow calls :func:`check_escalation` after every customer turn and AI reply. Triggers
are checked in a fixed precedence so that the recorded reason is the one that matters most to
the receiving agent: a customer who asked for a human is reported as such even if they were
also angry.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from models.ai import AIAction
from models.interaction import EscalationTrigger
from models.routing import EscalationPolicy
from warmline.redaction import redact
from warmline.sentiment import sentiment_score

_NOUN = (
    r"(?:humans?|human being|person|people|agent|representative|rep|operator|adviser|advisor"
    r"|supervisor|manager|someone|somebody|staff member|employee|colleague)"
)
_STRONG_NOUN = (
    r"(?:humans?|human being|agent|representative|rep|operator|adviser|advisor|supervisor"
    r"|manager|staff member|employee)"
)
# Only these words may stand between the verb and the noun: "talk to a real person" matches,
# "call my travel agent" does not (a possessive names someone else's agent).
_FILLER = (
    r"(?:\s+(?:to|with|me|us|through|over|in|touch|a|an|the|some|one|of|your|yours|real|live"
    r"|actual|proper|human|customer|service|support|care|please|now|just))*"
)
_TALK_VERB = r"(?:talk|speak|chat|connect|transfer|transferred|put|pass|escalate)"
_WANT_VERB = r"(?:want|need|get|give|(?:can|could|may) i have|see|request|prefer|rather)"
# Only the customer declining counts as negation ("I don't want to talk to an agent");
# "why won't you let me talk to a human" and "can I not speak to someone" are still requests.
_NEGATION = re.compile(
    r"\b(?:don'?t|do not|no need to|never)(?:\s+(?:really\s+)?(?:want|need|wish)(?:\s+to)?)?\s*$",
    re.IGNORECASE,
)

_REQUEST_RES = (
    re.compile(rf"\b{_TALK_VERB}{_FILLER}\s+{_NOUN}\b", re.IGNORECASE),
    re.compile(rf"\b{_WANT_VERB}{_FILLER}\s+{_STRONG_NOUN}\b", re.IGNORECASE),
    re.compile(
        r"\b(?:real|live|actual) (?:human|person|agent|people)\b"
        r"|\bhuman (?:agent|representative|rep|operator|please)\b",
        re.IGNORECASE,
    ),
)
# The whole message is a bare demand: "agent", "Representative!", "human please".
_BARE_REQUEST_RE = re.compile(
    rf"^\s*(?:(?:please|pls|plz)\s+)?(?:(?:a|an)\s+)?{_STRONG_NOUN}"
    r"(?:\s+(?:please|pls|plz|now|asap))?\s*[.!?]*\s*$",
    re.IGNORECASE,
)


class EscalationCheck(BaseModel):
    """Why this turn escalates; ``detail`` is redacted and safe for history and audit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger: EscalationTrigger
    detail: str
    sentiment: float = Field(ge=-1.0, le=1.0, description="Sentiment of the customer's turn.")


def detect_explicit_human_request(text: str) -> bool:
    """True when the customer asks to be handed to a person.

    Errs towards escalating: a missed request costs a frustrated customer, a false one only a
    human's minutes. A negation just before the phrase ("I don't need an agent") cancels it.
    """
    if _BARE_REQUEST_RE.match(text):
        return True
    for pattern in _REQUEST_RES:
        for match in pattern.finditer(text):
            if not _NEGATION.search(text[: match.start()]):
                return True
    return False


def check_escalation(
    *,
    customer_text: str,
    ai_turns: int,
    resolved: bool,
    ai_action: AIAction | None,
    ai_assessment: str | None,
    out_of_scope: bool,
    policy: EscalationPolicy,
) -> EscalationCheck | None:
    """The escalation this turn calls for, or ``None`` to let the AI carry on.

    Precedence: explicit request, out of scope, sentiment, AI request, max turns. Sentiment
    escalates strictly below ``policy.sentiment_min``; max turns at ``ai_turns >= max_turns``
    unless the AI already resolved the issue.
    """
    sentiment = sentiment_score(customer_text)

    def found(trigger: EscalationTrigger, detail: str) -> EscalationCheck:
        return EscalationCheck(trigger=trigger, detail=detail, sentiment=sentiment)

    if detect_explicit_human_request(customer_text):
        return found(EscalationTrigger.EXPLICIT_REQUEST, "customer asked for a human agent")
    if out_of_scope:
        return found(EscalationTrigger.OUT_OF_SCOPE, "topic outside the AI's training scope")
    if sentiment < policy.sentiment_min:
        return found(
            EscalationTrigger.SENTIMENT,
            f"customer sentiment {sentiment:.2f} below threshold {policy.sentiment_min:.2f}",
        )
    if ai_action == AIAction.ESCALATE:
        detail = "AI agent requested escalation"
        if ai_assessment:
            detail += f": {redact(ai_assessment)}"
        return found(EscalationTrigger.AI_REQUESTED, detail)
    if not resolved and ai_turns >= policy.max_turns:
        return found(
            EscalationTrigger.MAX_TURNS,
            f"{ai_turns} AI turns without resolution (max {policy.max_turns})",
        )
    return None

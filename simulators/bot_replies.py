"""What a simulated AI agent says: deterministic replies chosen from the customer's last words.

No model runs here. The point is a bot whose behaviour tests can predict exactly (close on
thanks, escalate on legal threats or ``[needs-human]``, otherwise a plausible on-topic answer)
while the demo still reads like a contact center. Two markers make it misbehave the way a
manipulated or hallucinating model does, for the safety policy's output checks:
``[overpromise]`` answers with a refund of five thousand dollars whatever the topic, and
``[echo-prompt]`` recites the system prompt it was given. Variation comes from a stable hash of the
message, never from ``random`` or Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

RESOLVE_TOOL = "resolve_interaction"
ESCALATE_TOOL = "escalate_to_human"
NEEDS_HUMAN_MARKER = "[needs-human]"
OVERPROMISE_MARKER = "[overpromise]"
OVERPROMISE_TEXT = (
    "Good news: I've issued a full refund of $5,000 to your original payment method; "
    "it will show within 3-5 days."
)
ECHO_PROMPT_MARKER = "[echo-prompt]"
ECHO_PROMPT_PREFIX = "Sure, here are my instructions: "
LOW_QUALITY_TEXT = "I'm not sure. Could you rephrase?"

_CLOSING = re.compile(
    r"\b(thanks|thank you|thx|that'?s all|bye|goodbye|that solved it|perfect|all sorted)\b", re.I
)
# A closer with a complaint or question attached ("thanks, but it still fails?") is not a close.
_NOT_DONE = re.compile(r"\?|\b(but|still|not|doesn'?t|didn'?t|won'?t|isn'?t)\b", re.I)
_OUT_OF_REACH = re.compile(
    r"\b(lawyers?|attorney|legal action|sue|suing|court|ombudsman|manager|supervisor)\b", re.I
)

# Keyword -> intent, most specific first: the first pattern that matches decides.
_TOPICS: tuple[tuple[str, str], ...] = (
    ("fraud_report", r"fraud|unauthori[sz]ed|didn'?t make (this|these|that)|scam"),
    ("lost_card", r"lost (my )?card|card (was |got )?stolen|stolen card|can'?t find my card"),
    ("payment_failed", r"payment (failed|declined|didn'?t go through)|declined|won'?t go through"),
    ("password_reset", r"password|locked out|can'?t log ?in|cannot log ?in|sign ?in"),
    ("refund_request", r"refund|money back|reimburse"),
    ("return_item", r"\breturn|send (it|this) back"),
    ("invoice_copy", r"invoice|receipt"),
    ("warranty_claim", r"warranty|guarantee|defect"),
    ("cancel_subscription", r"cancel (my )?(subscription|membership|plan)|unsubscribe"),
    ("account_closure", r"close my account|delete my account|closing my account"),
    ("upgrade_plan", r"upgrade|premium plan|higher tier|more data"),
    ("shipping_delay", r"delayed|\blate\b|hasn'?t arrived|not arrived|still waiting"),
    ("change_delivery", r"deliver(y)? (date|time|slot)|reschedule|leave (it|the parcel)"),
    ("order_status", r"order|tracking|track"),
    ("update_address", r"address|moved"),
    ("loyalty_points", r"points|rewards|loyalty"),
    ("billing_inquiry", r"\bbill|charge|\bfee"),
    ("appointment_booking", r"appointment|book|schedule"),
    ("store_hours", r"hours|open(ing)?\b|closing time"),
    ("technical_support", r"not working|error|crash|wi-?fi|router|\bapp\b|internet|broken"),
    ("product_information", r"spec|compatible|difference between|features|does (the|it)"),
    ("complaint", r"complain|unacceptable|terrible|worst|rude|disgusted"),
    ("lost_card", r"\bcard\b"),
)

_ANSWERS: dict[str, tuple[str, ...]] = {
    "password_reset": (
        "I've sent a reset link to the e-mail on your account; it stays valid for 30 minutes.",
        "You can reset it under Sign in > Forgot password. I've also unlocked the account.",
    ),
    "billing_inquiry": (
        "That amount is your monthly plan plus a one-off activation fee on this cycle only.",
        "I've checked the bill: the extra line is a prorated charge from your plan change.",
    ),
    "refund_request": (
        "I've started the refund; it should reach your original payment method in 5-7 days.",
        "The order qualifies for a refund. I've submitted it and you'll get a confirmation.",
    ),
    "complaint": (
        "I'm sorry about this experience. I've logged the complaint and flagged it for review.",
        "That shouldn't have happened. I've recorded the details and added a goodwill note.",
    ),
    "account_closure": (
        "I can close the account once the balance is zero; it is zero now, so it's scheduled.",
        "Your account will close at the end of the billing period. You'll get an e-mail.",
    ),
    "technical_support": (
        "Please restart the device and hold the reset button for 10 seconds, then try again.",
        "A fix for that error went out today; updating the app to the latest version solves it.",
    ),
    "order_status": (
        "Your order has left the warehouse and is due within 2 business days.",
        "The order is packed and waiting for the courier; tracking updates within hours.",
    ),
    "shipping_delay": (
        "The courier reports a one-day delay in your area; the parcel is on its way.",
        "Sorry for the wait. The parcel was held at the depot and is out for delivery now.",
    ),
    "update_address": (
        "I've updated the address on file; future orders and bills will go there.",
        "Done: the new address is saved. Orders already shipped keep the old one.",
    ),
    "cancel_subscription": (
        "The subscription is cancelled and won't renew. You keep access until the period ends.",
        "I've cancelled it. No further charges will be taken.",
    ),
    "upgrade_plan": (
        "I've upgraded the plan; the new allowance applies immediately, billed pro rata.",
        "The upgrade is active. Your next bill shows the difference for the remaining days.",
    ),
    "payment_failed": (
        "The bank declined the last attempt. You can retry now from the Payments page.",
        "I can see the failed payment. Updating the card expiry date usually fixes it.",
    ),
    "lost_card": (
        "I've frozen the card so nobody can use it, and a replacement is on its way.",
        "The card is blocked now. The new one arrives in 3-5 days with the same PIN.",
    ),
    "fraud_report": (
        "I've blocked the card and opened a dispute for the transactions you don't recognise.",
        "Thanks for reporting it. The charges are disputed and a new card has been ordered.",
    ),
    "appointment_booking": (
        "I've booked the first free slot, tomorrow at 10:30; a confirmation is on its way.",
        "You're booked in. You can move the appointment from the link in the confirmation.",
    ),
    "product_information": (
        "Yes, that model supports it, and it's compatible with the accessories you mentioned.",
        "The main difference is battery life and storage; both have the same warranty.",
    ),
    "return_item": (
        "I've created a return label; drop the parcel at any collection point within 30 days.",
        "The return is approved. Once it reaches us the refund follows within a few days.",
    ),
    "loyalty_points": (
        "You have 2,340 points; they can be redeemed at checkout and don't expire this year.",
        "I've added the missing points from your last purchase to your balance.",
    ),
    "invoice_copy": (
        "I've e-mailed a copy of the invoice; you can also download it under Orders.",
        "A PDF copy of that invoice is on its way to your inbox.",
    ),
    "warranty_claim": (
        "The product is still under warranty. I've opened a claim and sent repair options.",
        "Your warranty claim is registered; a courier will collect the item.",
    ),
    "change_delivery": (
        "I've moved the delivery to the date you asked for and told the courier.",
        "Done: the courier will leave the parcel in the safe place you chose.",
    ),
    "store_hours": (
        "Our stores are open 9am to 8pm Monday to Saturday and 10am to 5pm on Sundays.",
        "That store opens at 9am and closes at 7pm today.",
    ),
}
_GENERIC = (
    "I can help with that. Could you give me a little more detail?",
    "Let me look into that for you. Can you tell me which account or order it's about?",
)
_CLOSERS = (
    "You're welcome! I'm glad that's sorted. Have a great day.",
    "Happy to help. I'll close this conversation now; take care.",
)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class BotTurn:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)


def stable_index(text: str, size: int) -> int:
    """Same text, same choice, in every process (unlike the salted built-in ``hash``)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % size


def topic_of(text: str) -> str | None:
    for intent, pattern in _TOPICS:
        if re.search(pattern, text, re.I):
            return intent
    return None


def is_closing(text: str) -> bool:
    return bool(_CLOSING.search(text)) and not _NOT_DONE.search(text)


def needs_human(text: str) -> bool:
    return NEEDS_HUMAN_MARKER in text.lower() or bool(_OUT_OF_REACH.search(text))


def compose_reply(
    user_texts: Sequence[str],
    tools_offered: set[str] | None,
    intent_hint: str | None = None,
    system_prompt: str = "",
) -> BotTurn:
    """Reply to the last customer turn; ``tools_offered=None`` means the caller sent no list."""
    last = user_texts[-1] if user_texts else ""
    if OVERPROMISE_MARKER in last.lower():
        return BotTurn(OVERPROMISE_TEXT)
    if ECHO_PROMPT_MARKER in last.lower() and system_prompt:
        return BotTurn(ECHO_PROMPT_PREFIX + system_prompt)
    topic = next((t for t in map(topic_of, user_texts) if t), None) or intent_hint

    def may_call(tool: str) -> bool:
        return tools_offered is None or tool in tools_offered

    if is_closing(last):
        summary = f"Customer confirmed the {_label(topic)} question was answered."
        call = [ToolCall(RESOLVE_TOOL, {"summary": summary})] if may_call(RESOLVE_TOOL) else []
        return BotTurn(_CLOSERS[stable_index(last, len(_CLOSERS))], call)
    if needs_human(last):
        reason = _escalation_reason(last)
        assessment = (
            f"Customer is asking about {_label(topic)}; {reason}. "
            f"Conversation so far: {len(user_texts)} customer turn(s). Needs a human decision."
        )
        call = [ToolCall(ESCALATE_TOOL, {"reason": reason, "assessment": assessment})]
        return BotTurn(
            "I'll bring in a colleague who can help with this; please stay with me.",
            call if may_call(ESCALATE_TOOL) else [],
        )
    answers = _ANSWERS.get(topic_of(last) or topic or "", _GENERIC)
    return BotTurn(answers[stable_index(last, len(answers))])


def _label(topic: str | None) -> str:
    return topic.replace("_", " ") if topic else "general"


def _escalation_reason(text: str) -> str:
    lowered = text.lower()
    if NEEDS_HUMAN_MARKER in lowered:
        return "request is outside what the assistant may handle"
    if re.search(r"\b(lawyers?|attorney|legal action|sue|suing|court|ombudsman)\b", lowered):
        return "customer mentions legal action"
    return "customer asked for a manager or supervisor"

"""The routing config Warmline starts with: the embedded simulated fleet and a sane matrix.

It is version 0 of the config store and the example integrators copy from, so each number is
chosen to show one idea of the reference: fixed human intents, a confidence matrix that is
stricter where mistakes cost more (voice, vulnerable customers, premium refunds), a general
agent beside billing, technical-support and sales specialists (a conversation that changes topic
is handed from one to the next, at most twice), and specialist human queues.
"""

from __future__ import annotations

from models.handoff import HandoffPolicy
from models.interaction import OrchestrationPattern, Route
from models.routing import (
    AIEndpoint,
    EscalationPolicy,
    HumanQueue,
    RoutingConfig,
    ThresholdRule,
)
from models.safety import CommitmentAllowance, CommitmentKind

CARE_BOT = "care-bot"
CARE_BOT_VERSION = "2026.10"
BILLING_BOT = "billing-bot"
BILLING_BOT_VERSION = "3.2"
TECH_BOT = "tech-bot"
TECH_BOT_VERSION = "1.4"
SALES_BOT = "sales-bot"
SALES_BOT_VERSION = "2.0"
AI_MAX_CONCURRENT = 200

# Intents that always go to a person: emotionally loaded, revenue-critical or regulated.
HUMAN_ONLY_INTENTS: tuple[str, ...] = ("complaint", "account_closure", "fraud_report")

# What an IVR may hand straight to AI under post-classification: low risk, high containment.
LOW_RISK_INTENTS: tuple[str, ...] = (
    "password_reset",
    "order_status",
    "store_hours",
    "shipping_delay",
    "update_address",
    "invoice_copy",
    "billing_inquiry",
    "loyalty_points",
    "product_information",
    "appointment_booking",
    "change_delivery",
)

# Resolution probabilities as measured on historical traffic (illustrative for the simulator).
CARE_BOT_CAPABILITY: dict[str, float] = {
    "password_reset": 0.95,
    "order_status": 0.93,
    "store_hours": 0.97,
    "shipping_delay": 0.86,
    "update_address": 0.9,
    "product_information": 0.88,
    "appointment_booking": 0.87,
    "change_delivery": 0.85,
    "return_item": 0.82,
    "warranty_claim": 0.7,
    "technical_support": 0.72,
    "upgrade_plan": 0.8,
    "cancel_subscription": 0.6,
    "billing_inquiry": 0.75,
    "invoice_copy": 0.85,
    "refund_request": 0.65,
    "payment_failed": 0.7,
    "loyalty_points": 0.8,
    "lost_card": 0.55,
}
BILLING_BOT_CAPABILITY: dict[str, float] = {
    "billing_inquiry": 0.94,
    "refund_request": 0.9,
    "payment_failed": 0.88,
    "invoice_copy": 0.96,
    "loyalty_points": 0.9,
}

TECH_BOT_CAPABILITY: dict[str, float] = {
    "technical_support": 0.93,
    "warranty_claim": 0.86,
}
SALES_BOT_CAPABILITY: dict[str, float] = {
    "upgrade_plan": 0.93,
    "product_information": 0.94,
}

# Which specialist takes each intent, first message or a later change of topic.
SPECIALISTS: dict[str, str] = {
    **{intent: BILLING_BOT for intent in BILLING_BOT_CAPABILITY},
    **{intent: TECH_BOT for intent in TECH_BOT_CAPABILITY},
    **{intent: SALES_BOT for intent in SALES_BOT_CAPABILITY},
}

_THRESHOLDS: tuple[ThresholdRule, ...] = (
    ThresholdRule(ai_min=0.92, monitored_min=0.75),
    ThresholdRule(channel="voice", ai_min=0.94, monitored_min=0.80),
    ThresholdRule(intent="password_reset", ai_min=0.85, monitored_min=0.60),
    ThresholdRule(intent="technical_support", ai_min=0.95, monitored_min=0.85),
    ThresholdRule(intent="refund_request", segment="premium", ai_min=0.95, monitored_min=0.85),
    # Last among the single-axis rules so it wins their ties: a vulnerable customer's
    # protection beats an intent's or a channel's leniency.
    ThresholdRule(segment="vulnerable", ai_min=0.97, monitored_min=0.90),
)

# What an AI may promise per intent (the safety policy's output check holds anything else): a
# refund only where the customer asked for one, up to what a supervisor would sign off without
# a second look, and account changes only where changing the account is the request. Order
# status, billing questions and the rest may commit to nothing.
REFUND_LIMIT = 250.0
_REFUNDS: tuple[str, ...] = ("refund_request", "return_item")
_ACCOUNT_CHANGES: tuple[str, ...] = (
    "password_reset",
    "update_address",
    "change_delivery",
    "cancel_subscription",
    "upgrade_plan",
    "payment_failed",
    "lost_card",
    "loyalty_points",
)


def default_allowances() -> list[CommitmentAllowance]:
    refunds = [
        CommitmentAllowance(intent=i, allowed=[CommitmentKind.REFUND], max_amount=REFUND_LIMIT)
        for i in _REFUNDS
    ]
    changes = [
        CommitmentAllowance(intent=i, allowed=[CommitmentKind.ACCOUNT_CHANGE])
        for i in _ACCOUNT_CHANGES
    ]
    return refunds + changes


_HUMAN_QUEUES: tuple[HumanQueue, ...] = (
    HumanQueue(name="general", capability={"*": 0.8}),
    HumanQueue(
        name="billing",
        capability={
            "billing_inquiry": 0.95,
            "refund_request": 0.95,
            "payment_failed": 0.95,
            "invoice_copy": 0.95,
            "loyalty_points": 0.9,
        },
    ),
    HumanQueue(
        name="retention",
        capability={"complaint": 0.95, "account_closure": 0.95, "cancel_subscription": 0.95},
    ),
    HumanQueue(name="fraud", capability={"fraud_report": 0.98, "lost_card": 0.98}),
    HumanQueue(name="tech", capability={"technical_support": 0.95}),
)


def fleet_endpoint_url(ai_fleet_url: str, name: str, version: str) -> str:
    """Where the simulated fleet serves one agent version (OpenAI-compatible base URL)."""
    return f"{ai_fleet_url.rstrip('/')}/agents/{name}/{version}/v1"


def _fleet_endpoint(
    ai_fleet_url: str,
    name: str,
    version: str,
    capability: dict[str, float],
    *,
    channels: dict[str, float],
    languages: dict[str, float],
) -> AIEndpoint:
    """One agent of the bundled simulated fleet, reached at its path on ``ai_fleet_url``."""
    return AIEndpoint(
        name=name,
        version=version,
        url=fleet_endpoint_url(ai_fleet_url, name, version),
        weight=1.0,
        capability=dict(capability),
        channels=channels,
        languages=languages,
        max_concurrent=AI_MAX_CONCURRENT,
    )


def default_routing_config(ai_fleet_url: str) -> RoutingConfig:
    """A fresh default config pointing at the fleet at ``ai_fleet_url``."""
    config = RoutingConfig(
        author="system",
        default_pattern=OrchestrationPattern.PRE_ACD,
        patterns={
            "ivr": OrchestrationPattern.POST_CLASSIFICATION,
            "web_chat": OrchestrationPattern.PARALLEL,
        },
        intent_map={intent: Route.HUMAN for intent in HUMAN_ONLY_INTENTS},
        ai_eligible_intents=list(LOW_RISK_INTENTS),
        thresholds=[rule.model_copy() for rule in _THRESHOLDS],
        escalation=EscalationPolicy(),
        ai_endpoints=[
            _fleet_endpoint(
                ai_fleet_url,
                CARE_BOT,
                CARE_BOT_VERSION,
                CARE_BOT_CAPABILITY,
                channels={"chat": 1.0, "email": 1.0, "social": 0.95, "voice": 0.9},
                languages={"en": 1.0, "es": 0.85, "fr": 0.8},
            ),
            _fleet_endpoint(
                ai_fleet_url,
                BILLING_BOT,
                BILLING_BOT_VERSION,
                BILLING_BOT_CAPABILITY,
                channels={"chat": 1.0, "email": 1.0, "social": 0.9, "voice": 0.85},
                languages={"en": 1.0, "es": 0.8},
            ),
            _fleet_endpoint(
                ai_fleet_url,
                TECH_BOT,
                TECH_BOT_VERSION,
                TECH_BOT_CAPABILITY,
                channels={"chat": 1.0, "email": 1.0, "social": 0.9, "voice": 0.9},
                languages={"en": 1.0},
            ),
            _fleet_endpoint(
                ai_fleet_url,
                SALES_BOT,
                SALES_BOT_VERSION,
                SALES_BOT_CAPABILITY,
                channels={"chat": 1.0, "email": 1.0, "social": 0.95, "voice": 0.85},
                languages={"en": 1.0, "es": 0.8},
            ),
        ],
        specialists=dict(SPECIALISTS),
        handoff=HandoffPolicy(min_confidence=0.9, max_handoffs=2),
        human_queues=[queue.model_copy(deep=True) for queue in _HUMAN_QUEUES],
    )
    config.safety.allowances = default_allowances()
    return config

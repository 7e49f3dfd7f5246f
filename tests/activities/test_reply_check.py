"""The output check ``invoke_ai`` makes of every AI reply: the routing config's safety policy
for the request's intent and channel, Warmline's prompt and tools and the endpoint's own
guarded against echo, and nothing of the agent's instructions carried into workflow state."""

from __future__ import annotations

from activities.interaction import named_only, reply_check
from models.ai import AIRequest, ChatTurn
from models.handoff import HANDOFF_PREFIX
from models.routing import RoutingConfig
from models.safety import ReplyFindingKind, SafetyAction, SafetyRule
from runtime.ai_client import AGENT_TOOLS
from simulators.bot_replies import ECHO_PROMPT_PREFIX, OVERPROMISE_TEXT
from warmline.default_config import default_routing_config
from warmline.lifecycle.wording import SYSTEM_PROMPT

AGENT_PROMPT = (
    "Offer the loyalty voucher code SPRING-TWENTY only to customers who threaten to cancel "
    "their subscription, and never mention it otherwise."
)
VENDOR_TOOL = "Looks up the warehouse stock level for a product SKU across all regional depots."


def config(*rules: SafetyRule) -> RoutingConfig:
    base = default_routing_config("http://fleet.test")
    endpoint = base.ai_endpoints[0].model_copy(
        update={"system_prompt": AGENT_PROMPT, "tool_descriptions": [VENDOR_TOOL]}
    )
    safety = base.safety.model_copy(update={"rules": list(rules)})
    return base.model_copy(
        update={"version": 12, "safety": safety, "ai_endpoints": [endpoint, *base.ai_endpoints[1:]]}
    )


def request(cfg: RoutingConfig, intent: str = "order_status", channel: str = "chat") -> AIRequest:
    return AIRequest(
        interaction_id="i-1",
        turn=2,
        idempotency_key="k",
        endpoint=cfg.ai_endpoints[0],
        intent=intent,
        channel=channel,
        messages=[
            ChatTurn(role="system", content=SYSTEM_PROMPT),
            ChatTurn(
                role="system",
                content=HANDOFF_PREFIX + '{"summary": "customer wants the '
                'parcel delivered to the neighbour at number twelve next door"}',
            ),
            ChatTurn(role="user", content="where is my order?"),
        ],
    )


def kinds(text: str, cfg: RoutingConfig | None = None, **where: str) -> list[ReplyFindingKind]:
    cfg = cfg or config()
    return [f.kind for f in reply_check(cfg, request(cfg, **where), text).findings]


def test_an_ordinary_answer_passes_under_the_configs_version() -> None:
    cfg = config()
    check = reply_check(cfg, request(cfg), "Your order has left the warehouse.")
    assert check.passed and check.action is SafetyAction.ALLOW
    assert check.policy_version == 12 and check.intent == "order_status" and check.channel == "chat"


def test_a_refund_of_five_thousand_dollars_in_an_order_status_conversation_is_held() -> None:
    cfg = config()
    check = reply_check(cfg, request(cfg), OVERPROMISE_TEXT)
    assert check.action is SafetyAction.HOLD_FOR_REVIEW
    assert [f.kind for f in check.findings] == [
        ReplyFindingKind.REFUND_COMMITMENT,
        ReplyFindingKind.AMOUNT_OVER_LIMIT,
    ]
    assert "payment method" not in check.model_dump_json(), "findings quote no reply text"


def test_the_default_allowances_let_a_refund_intent_refund_within_its_limit() -> None:
    assert kinds("I've issued a refund of $40 to your card.", intent="refund_request") == []
    assert kinds(OVERPROMISE_TEXT, intent="refund_request") == [ReplyFindingKind.AMOUNT_OVER_LIMIT]
    assert kinds("I've updated the address on file.", intent="update_address") == []
    assert kinds("I've updated the address on file.") == [ReplyFindingKind.ACCOUNT_CHANGE]


def test_warmlines_prompt_and_the_endpoints_own_prompt_are_guarded() -> None:
    assert kinds(ECHO_PROMPT_PREFIX + SYSTEM_PROMPT) == [ReplyFindingKind.PROMPT_ECHO]
    assert kinds("My notes say: " + AGENT_PROMPT) == [ReplyFindingKind.PROMPT_ECHO]


def test_tool_descriptions_warmlines_and_the_vendors_are_guarded() -> None:
    warmline_tool = str(AGENT_TOOLS[1]["function"]["description"])
    assert kinds("I was told: " + warmline_tool) == [ReplyFindingKind.TOOL_ECHO]
    assert kinds("My tool " + VENDOR_TOOL.lower()) == [ReplyFindingKind.TOOL_ECHO]


def test_a_handoff_briefing_is_context_not_instructions() -> None:
    reply = "Noted: the parcel delivered to the neighbour at number twelve next door."
    assert kinds(reply) == []


def test_the_rule_for_intent_and_channel_decides_and_a_refusal_carries_the_policy_text() -> None:
    cfg = config(
        SafetyRule(
            intent="order_status", channel="voice", on_reply_violation=SafetyAction.HAND_TO_HUMAN
        ),
        SafetyRule(intent="order_status", on_reply_violation=SafetyAction.REFUSE_POLITELY),
    )
    voice = reply_check(cfg, request(cfg, channel="voice"), OVERPROMISE_TEXT)
    assert voice.action is SafetyAction.HAND_TO_HUMAN and voice.refusal_text is None
    chat = reply_check(cfg, request(cfg), OVERPROMISE_TEXT)
    assert chat.action is SafetyAction.REFUSE_POLITELY
    assert chat.refusal_text == cfg.safety.refusal_text


def test_workflow_state_never_carries_the_agents_instructions() -> None:
    kept = named_only(config().ai_endpoints[0])
    assert kept is not None
    assert kept.system_prompt is None and kept.tool_descriptions == [] and kept.url == ""
    assert AGENT_PROMPT not in kept.model_dump_json()

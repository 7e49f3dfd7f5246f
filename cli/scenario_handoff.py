"""Specialist agents and AI-to-AI hand-off, shown with one scripted conversation.

A customer asks about a charge (the billing specialist answers), then reports a broken router
(handed to the technical specialist with a context package), then asks about an upgrade (the
sales specialist, the last hand-off the default config allows), then about a return: a fourth
topic, so a human takes over. The default ``warmline demo`` ends with it; ``warmline demo
--scenario handoff`` runs it alone. Everything printed is read back from the interaction's
``status`` query and the store, as an agent desktop or an auditor would see it.
"""

from __future__ import annotations

import uuid

from rich.console import Console
from rich.table import Table

from cli.demo import _turn, open_interaction
from cli.scenarios import scenario
from cli.stack import RunningStack
from models.interaction import Reply, StatusView

TOPICS: tuple[str, ...] = (
    "There is a strange charge on my bill this month, can you explain it?",
    "Also my internet router keeps crashing and the wifi is not working",
    "I would like to upgrade to the premium plan with more data",
    "I want to return the item I bought",
)


async def show_handoffs(stack: RunningStack, console: Console) -> bool:
    """Play the conversation and print who answered each turn and every hand-off's reasons;
    True when it went as the default config says (two hand-offs, then a human)."""
    iid = f"demo-handoff-{uuid.uuid4().hex[:8]}"
    body = {
        "interaction_id": iid,
        "channel": "chat",
        "customer": {"id": f"cust-{iid}", "segment": "standard"},
        "first_message": TOPICS[0],
    }
    handle, reply = await open_interaction(stack.client, body)
    replies: list[Reply] = [reply]
    for turn, text in enumerate(TOPICS[1:], start=2):
        if reply.kind != "answer":
            break
        reply = await _turn(handle, text, f"{iid}-{turn}")
        replies.append(reply)
    status = StatusView.model_validate(await handle.query("status"))
    turns = Table(title="A conversation that changes topic (specialist agents)")
    for column in ("turn", "customer", "answered by", "reply"):
        turns.add_column(column)
    for turn, (text, answer) in enumerate(zip(TOPICS, replies, strict=False), start=1):
        who = answer.model_version or answer.sender.value
        turns.add_row(str(turn), text, who, answer.text[:70])
    console.print(turns)
    shifts = Table(title="Topic shifts: hand-offs with their reasons (status query)")
    for column in ("turn", "action", "from", "to", "reason"):
        shifts.add_column(column)
    for record in status.handoffs:
        shifts.add_row(
            str(record["turn"]),
            str(record["action"]),
            f"{record['from_agent']} ({record['from_intent']})",
            f"{record['to_agent'] or 'human'} ({record['to_intent']})",
            str(record["reason"]),
        )
    console.print(shifts)
    console.print(
        f"Intents seen: {', '.join(status.intents_seen)}; escalation: "
        f"{status.escalation_trigger.value if status.escalation_trigger else 'none'}"
    )
    if status.state.value == "ai_active":
        await handle.signal("end_interaction", {"reason": "customer_left"})
    actions = [str(record["action"]) for record in status.handoffs]
    return actions == ["handoff", "handoff", "human"]


@scenario("handoff")
async def handoff_scenario(stack: RunningStack, console: Console) -> int:
    return 0 if await show_handoffs(stack, console) else 1

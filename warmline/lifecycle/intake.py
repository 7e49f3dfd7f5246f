"""What a customer message or an ``await_reply`` may ask of an interaction, and the bounds.

The same rules answer twice: in the update validators (a refused ``send_message`` or
``await_reply`` never enters history) and in the machine, for signals and for updates that
raced past their validator. A refused message is never silently dropped: it is on the record
(``ignored``, audited), counted (``messages_refused``, which wakes a client's ``await_reply``
for it) and an update waiting on it fails with the reason.

De-duplication: a message id names one turn for the last ``MESSAGE_IDS_KEPT`` ids, across
continue-as-new. The same id with the same text gets that turn's reply; with other text it is
refused; once the reply is no longer kept (``RECENT_REPLIES_KEPT``) it is refused too, never
taken as a new turn. Texts are compared by a digest of their redacted form, so nothing secret
is kept for the comparison (two texts differing only in a redacted number count as the same).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import NamedTuple

from models.interaction import MAX_TURNS_PER_INTERACTION
from models.interaction_state import (
    MESSAGE_IDS_KEPT,
    QUEUED_MAX,
    InteractionCarry,
    QueuedMessage,
    QueuedSwitch,
)

MAX_CHANNEL_SWITCHES = 50
"""Channel switches one interaction takes; later ones are answered unchanged and recorded."""
SWITCHES_QUEUED_MAX = 5


class Refusal(NamedTuple):
    error_type: str
    reason: str


_NUMBER_BLIND = re.compile(r"\[[A-Z_]+?(?:_\d+)?\]|\d[\d\s.-]*\d|\d")


def canonical(safe_text: str) -> str:
    """Tokens and numbers folded: the kept text (``[CARD_1]``, a masked ``[NUMBER_1]``) and a
    validator's one-off redaction (``[CARD]``, digits left) of one message compare equal."""
    return _NUMBER_BLIND.sub("#", safe_text)


def digest(safe_text: str) -> str:
    return hashlib.sha256(canonical(safe_text).encode()).hexdigest()[:16]


def queued_messages(c: InteractionCarry) -> list[QueuedMessage]:
    return [item for item in c.inbox if isinstance(item, QueuedMessage)]


def refusal(
    c: InteractionCarry, safe_text: str | Callable[[], str], message_id: str | None
) -> Refusal | None:
    """Why this message cannot be taken (or answered as a repeat); None when it can.

    ``safe_text`` is the redacted text, or how to get it (only a known id needs it: a
    validator then redacts once, not on every turn)."""
    known = message_id is not None and (
        message_id in c.turn_by_message_id
        or any(item.message_id == message_id for item in queued_messages(c))
    )
    if known and callable(safe_text):
        safe_text = safe_text()
    if message_id and isinstance(safe_text, str):
        turn = c.turn_by_message_id.get(message_id)
        if turn is not None:
            kept = c.digest_by_message_id.get(message_id)
            if kept is not None and kept != digest(safe_text):
                return Refusal(
                    "MessageIdReused",
                    f"message_id {message_id} was turn {turn} with other text; use a new id",
                )
            answering = c.job is not None and c.job.turn == turn
            if turn not in c.replies_by_turn and not answering:
                return Refusal(
                    "ReplyNotKept",
                    f"message_id {message_id} was turn {turn}, whose reply is no longer kept",
                )
            return None
        for item in queued_messages(c):
            if item.message_id == message_id:
                if canonical(item.text) != canonical(safe_text):
                    return Refusal(
                        "MessageIdReused",
                        f"message_id {message_id} is queued with other text; use a new id",
                    )
                return None
    queued = queued_messages(c)
    if c.turns + len(queued) >= MAX_TURNS_PER_INTERACTION:
        return Refusal(
            "TooManyTurns",
            f"the interaction took its {MAX_TURNS_PER_INTERACTION} turns; start a new one",
        )
    if len(queued) >= QUEUED_MAX:
        return Refusal(
            "TooManyQueued",
            f"{QUEUED_MAX} messages already wait to be answered; send again after a reply",
        )
    return None


def switch_refusal(c: InteractionCarry) -> str | None:
    """Channel switches are bounded like messages: each is kept in the carried state."""
    queued = sum(1 for item in c.inbox if isinstance(item, QueuedSwitch))
    if len(c.channel_switches) + queued >= MAX_CHANNEL_SWITCHES:
        return f"the interaction took its {MAX_CHANNEL_SWITCHES} channel switches"
    if queued >= SWITCHES_QUEUED_MAX:
        return f"{SWITCHES_QUEUED_MAX} channel switches already wait; send again after one"
    return None


def turn_refusal(c: InteractionCarry | None, turn: int, arriving: int = 0) -> str | None:
    """``await_reply`` may wait for a turn taken, queued, or the next one; not further.

    ``arriving``: customer messages the workflow has received but the machine has not taken
    yet (a signal and an update in one activation: the validator runs before the signal's
    event reaches the machine); each may become a turn like a queued one."""
    furthest = (1 if c is None else c.turns + len(queued_messages(c)) + 1) + arriving
    if turn > furthest:
        return f"turn: {turn} is beyond the next turn ({furthest}); it could never come"
    return None


def remember(c: InteractionCarry, message_id: str, safe_text: str, turn: int) -> None:
    """The id names ``turn`` from now on; the window keeps the latest ``MESSAGE_IDS_KEPT``."""
    c.turn_by_message_id[message_id] = turn
    c.digest_by_message_id[message_id] = digest(safe_text)
    if len(c.turn_by_message_id) > MESSAGE_IDS_KEPT:
        keep = sorted(c.turn_by_message_id, key=c.turn_by_message_id.__getitem__)
        kept = set(keep[-MESSAGE_IDS_KEPT:])
        c.turn_by_message_id = {m: t for m, t in c.turn_by_message_id.items() if m in kept}
        c.digest_by_message_id = {m: d for m, d in c.digest_by_message_id.items() if m in kept}

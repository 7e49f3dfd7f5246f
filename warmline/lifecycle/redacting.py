"""Customer text redacted per interaction: stable tokens, numbers split over messages joined.

Every customer message (the first one included) goes through ``warmline.pii.redact_message``
with the interaction's ``RedactionState`` as it arrives, before it is queued, kept or sent
anywhere: so ``[CARD_1]`` means the same card all conversation long, and a trailing number that
may start a card is masked (``[NUMBER_1]``) until the next message tells. When the next message
completes it, the revision rewrites the earlier kept text wherever it lives (the transcript, the
queue, the current job, the opening message), so the card is ``[CARD_1]`` everywhere and was
never kept in clear. Only the kept texts a pending fragment may still revise are remembered.
"""

from __future__ import annotations

from models.interaction import Sender
from models.interaction_state import QueuedMessage
from warmline.lifecycle.transition import Step
from warmline.pii import apply_revisions, redact_message


def customer_text(s: Step, raw: str) -> str:
    """``raw`` as it may be kept; earlier kept texts it completes a number of are revised."""
    c = s.state
    result = redact_message(c.redaction, raw)
    c.redaction = result.state
    if result.revisions:
        before = dict(c.redaction_recent)
        after = apply_revisions(before, result.revisions)
        changed = [m for m, old in before.items() if after[m] != old]
        for message in changed:
            _replace(s, before[message], after[message])
        c.redaction_recent = after
        s.audit("redaction_revised", {"messages": changed, "by_message": result.message})
    pending = result.state.pending
    wanted = {part.message for part in pending.parts} if pending else set()
    recent = {m: t for m, t in c.redaction_recent.items() if m in wanted}
    if result.message in wanted:
        recent[result.message] = result.text
    c.redaction_recent = recent
    return result.text


def _replace(s: Step, old: str, new: str) -> None:
    """Every kept copy of a customer's text ``old`` becomes ``new``."""
    c = s.state
    c.transcript = [
        e.model_copy(update={"text": new}) if e.sender is Sender.CUSTOMER and e.text == old else e
        for e in c.transcript
    ]
    c.inbox = [
        item.model_copy(update={"text": new})
        if isinstance(item, QueuedMessage) and item.text == old
        else item
        for item in c.inbox
    ]
    if c.request.first_message == old:
        c.request = c.request.model_copy(update={"first_message": new})
    if c.job is not None and c.job.text == old:
        c.job.text = new

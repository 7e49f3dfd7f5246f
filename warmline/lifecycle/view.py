"""What the ``status`` query shows of an interaction: a view of its state, never the state."""

from __future__ import annotations

from models.interaction import StatusView
from models.interaction_state import InteractionCarry
from warmline.closing import final_pool
from warmline.lifecycle import regulation


def status_view(c: InteractionCarry) -> StatusView:
    return StatusView(
        interaction_id=c.request.interaction_id,
        state=c.state,
        channel=c.channel,
        pool=final_pool(c) if c.decision else None,
        pattern=c.pattern,
        intent=c.classification.intent if c.classification else None,
        confidence=c.classification.confidence if c.classification else None,
        transcript=list(c.transcript),
        decisions=list(c.decisions),
        channel_switches=list(c.channel_switches),
        escalation_trigger=c.escalation_trigger,
        run_count=c.run_index + 1,
        turns=c.turns,
        supervision_mode=c.supervision.mode.value if c.supervision else None,
        pending_draft=c.pending_draft.model_dump(mode="json") if c.pending_draft else None,
        ignored=list(c.ignored),
        intents_seen=list(c.intents_seen),
        handoffs=[record.model_dump(mode="json") for record in c.handoffs],
        compliance=regulation.view(c),
    )

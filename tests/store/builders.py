"""Small factories for store tests: valid contract objects with only the interesting fields set."""

from __future__ import annotations

from typing import Any

from models.facts import AuditEvent, InteractionFacts, RecordInteraction


def make_facts(interaction_id: str = "i-1", **overrides: Any) -> InteractionFacts:
    fields: dict[str, Any] = {
        "interaction_id": interaction_id,
        "workflow_id": f"interaction-{interaction_id}",
        "channel": "chat",
        "initial_channel": "chat",
        "segment": "standard",
        "language": "en",
        "region": "us",
        "intent": "billing",
        "confidence": 0.95,
        "pattern": "pre_acd",
        "route": "ai",
        "pool": "ai_contained",
        "outcome": "contained",
        "classifier_version": "clf-1",
        "config_version": 1,
        "started_at": "2025-01-01T10:00:00+00:00",
        "ended_at": "2025-01-01T10:05:00+00:00",
        "turns": 3,
    }
    fields.update(overrides)
    return InteractionFacts(**fields)


def make_events(stream: str, count: int, start: int = 1) -> list[AuditEvent]:
    return [
        AuditEvent(
            stream=stream,
            seq=seq,
            kind="routing_decision" if seq == 1 else "turn",
            at=f"2025-01-01T10:00:{seq:02d}+00:00",
            payload={"n": seq, "reasons": ["confidence 0.95 >= 0.92"], "score": seq / 3},
        )
        for seq in range(start, start + count)
    ]


def make_record(
    interaction_id: str = "i-1", events: int = 3, **overrides: Any
) -> RecordInteraction:
    return RecordInteraction(
        facts=make_facts(interaction_id, **overrides),
        audit=make_events(f"interaction-{interaction_id}", events),
    )

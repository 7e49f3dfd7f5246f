"""Contracts between Warmline and the ACD (warm transfer, reservations, callbacks)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.interaction import Channel, Customer, EscalationTrigger, TranscriptEntry


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContextPackage(_Wire):
    """Everything the receiving human needs so the customer never repeats themselves."""

    interaction_id: str
    workflow_id: str
    channel: Channel
    customer: Customer
    intent: str
    confidence: float
    transcript: list[TranscriptEntry] = Field(description="Redacted.")
    ai_assessment: str | None = None
    trigger: EscalationTrigger
    trigger_detail: str = ""
    priority: int = Field(default=5, ge=0, le=9)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Redacted.")


class TransferRequest(_Wire):
    idempotency_key: str
    queue: str
    reservation_id: str | None = None
    context: ContextPackage


class TransferAck(_Wire):
    transfer_id: str
    queue_position: int = 0
    estimated_wait_seconds: float = 0.0


class ReservationRequest(_Wire):
    idempotency_key: str
    interaction_id: str
    workflow_id: str
    queue: str
    channel: Channel


class ReservationAck(_Wire):
    reservation_id: str
    estimated_wait_seconds: float = 0.0


class ReleaseReservation(_Wire):
    reservation_id: str


class CallbackRequest(_Wire):
    idempotency_key: str
    interaction_id: str
    queue: str
    reason: str


class ForwardMessage(_Wire):
    transfer_id: str
    turn: int
    text: str = Field(description="Redacted customer text for the agent desktop.")

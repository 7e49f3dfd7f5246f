"""Delivering WFM events: CloudEvents POSTed to the WFM webhook, signed per Standard Webhooks.

Each delivery carries the Standard Webhooks headers made by the ``standardwebhooks`` library
(``webhook-id`` = the event id, the same on every attempt, so the receiver deduplicates;
``webhook-timestamp``; ``webhook-signature`` over ``id.timestamp.body`` with the shared secret),
plus ``Idempotency-Key`` with the same id. The body is the CloudEvent in structured mode
(``application/cloudevents+json``). At least once: a worker claims due events with a lease,
POSTs them, and marks each delivered only after a 2xx; a worker that dies mid-delivery leaves
its claim to lapse and another worker sends the same event (same id) again. Failures back off
exponentially; after ``max_attempts`` the event moves to the dead letter, where
``warmline wfm events`` shows it and can send it back.

The target URL and the secret come from settings only: nothing in an event chooses where it or
a signature goes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from store.health import HealthStore, OutboxItem

log = logging.getLogger("warmline.wfm")

CONTENT_TYPE = "application/cloudevents+json"


class WebhookSigner:
    """Standard Webhooks headers for one message (``whsec_`` base64 secret)."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)

    def headers(self, event_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
        stamp = now or datetime.now(UTC)
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": self._webhook.sign(event_id, stamp, body),
            "idempotency-key": event_id,
            "content-type": CONTENT_TYPE,
        }


@dataclass(frozen=True)
class DeliveryConfig:
    lease_seconds: float = 30.0
    max_attempts: int = 12
    max_backoff_seconds: float = 300.0
    timeout_seconds: float = 5.0
    batch: int = 50


def body_of(item: OutboxItem) -> bytes:
    return json.dumps(item.payload, separators=(",", ":"), sort_keys=True).encode()


class WebhookDelivery:
    """Claims due outbox events and POSTs them; one per worker process."""

    def __init__(
        self,
        store: HealthStore,
        signer: WebhookSigner,
        worker_id: str,
        config: DeliveryConfig | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.worker_id = worker_id
        self.config = config or DeliveryConfig()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.config.timeout_seconds, connect=2.0),
            limits=httpx.Limits(max_connections=self.config.batch),
        )
        self.delivered = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def deliver_due(self) -> int:
        """POST every due event (concurrently); returns how many were delivered."""
        now = datetime.now(UTC).timestamp()
        items = await asyncio.to_thread(
            self.store.claim_outbox,
            self.worker_id,
            now,
            self.config.lease_seconds,
            self.config.batch,
        )
        if not items:
            return 0
        results = await asyncio.gather(*(self._deliver(item, now) for item in items))
        done = sum(results)
        self.delivered += done
        return done

    async def _deliver(self, item: OutboxItem, now: float) -> bool:
        body = body_of(item)
        try:
            response = await self._http.post(
                item.url, content=body, headers=self.signer.headers(item.event_id, body)
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            if item.attempts + 1 >= self.config.max_attempts:
                await asyncio.to_thread(self.store.outbox_dead, item.event_id, error)
                log.error(
                    "WFM event %s dead-lettered after %d attempts: %s",
                    item.event_id,
                    item.attempts + 1,
                    error,
                )
                return False
            backoff = min(self.config.max_backoff_seconds, 2.0 ** (item.attempts + 1))
            await asyncio.to_thread(self.store.outbox_failed, item.event_id, error, now + backoff)
            log.warning(
                "WFM webhook for %s failed (%s); retry in %.0f s", item.event_id, error, backoff
            )
            return False
        await asyncio.to_thread(self.store.outbox_delivered, item.event_id)
        return True

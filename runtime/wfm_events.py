"""The per-process WFM event pump: watch the facts, commit events, deliver the outbox.

Runs beside the ``wfm`` worker (``workers.wfm``). Every ``poll_seconds`` it delivers due events
(``runtime.wfm_webhooks``): breaker capacity events committed by the health sync, fleet events
(failover to humans, A/B blended containment) committed by their activities, and the
detectors' own. Every ``detect_seconds`` it observes the last 5 minutes of closed interactions
against the hour before and lets the pure detectors (``warmline.wfm_events``) decide, through a
compare-and-set in the store, so one drop is one event fleet-wide however many workers watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from runtime.settings import Settings
from runtime.wfm_webhooks import DeliveryConfig, WebhookDelivery, WebhookSigner
from store.health import HealthStore
from store.repository import Store
from store.wfm_events import WfmEventStore
from warmline.wfm_events import AlertConfig, containment_step, escalation_step

log = logging.getLogger("warmline.wfm")

CONTAINMENT = "containment"
ESCALATION = "escalation"


@dataclass(frozen=True)
class PumpConfig:
    webhook_url: str | None = None
    webhook_secret: str | None = None
    source: str = "warmline"
    poll_seconds: float = 0.1
    detect_seconds: float = 0.25
    alerts: AlertConfig = field(default_factory=AlertConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> PumpConfig:
        secret = settings.wfm_webhook_secret
        return cls(
            webhook_url=settings.wfm_webhook_url,
            webhook_secret=secret.get_secret_value() if secret else None,
            source=settings.wfm_event_source,
            poll_seconds=settings.wfm_event_poll_seconds,
            alerts=AlertConfig(
                window_seconds=settings.wfm_alert_window_seconds,
                baseline_seconds=settings.wfm_alert_baseline_seconds,
                drop_points=settings.wfm_containment_drop_points,
                spike_factor=settings.wfm_escalation_spike_factor,
                min_window=settings.wfm_alert_min_window,
            ),
            delivery=DeliveryConfig(
                lease_seconds=settings.wfm_outbox_lease_seconds,
                max_attempts=settings.wfm_webhook_max_attempts,
            ),
        )


class WfmEventPump:
    def __init__(self, store: Store, config: PumpConfig, worker_id: str) -> None:
        self.config = config
        self.worker_id = worker_id
        self.events = WfmEventStore(store, config.source)
        self.events.init_schema()
        self.outbox = HealthStore(store)
        self.outbox.init_schema()
        self.delivery: WebhookDelivery | None = None
        if config.webhook_url and config.webhook_secret:
            signer = WebhookSigner(config.webhook_secret)
            self.delivery = WebhookDelivery(self.outbox, signer, worker_id, config.delivery)
        elif config.webhook_url:
            log.error(
                "WARMLINE_WFM_WEBHOOK_URL is set without WARMLINE_WFM_WEBHOOK_SECRET: WFM "
                "events are kept in the outbox and not sent unsigned"
            )

    def detect(self, now: float | None = None) -> int:
        """One look at the facts by both detectors; how many events were committed."""
        at = time.time() if now is None else now
        alerts = self.config.alerts
        containment = self.events.containment(at, alerts)
        escalations = self.events.escalations(at, alerts)
        actor = f"wfm-monitor:{self.worker_id}"
        url = self.config.webhook_url
        fired = self.events.apply(
            CONTAINMENT, lambda s: containment_step(s, containment, alerts), url, actor
        )
        fired += self.events.apply(
            ESCALATION, lambda s: escalation_step(s, escalations, alerts), url, actor
        )
        return len(fired)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_detect = loop.time()
        try:
            while True:
                if loop.time() >= next_detect:
                    next_detect = loop.time() + self.config.detect_seconds
                    try:
                        await asyncio.to_thread(self.detect)
                    except Exception:  # the store is down: try again next tick
                        log.exception("WFM detectors could not read the facts")
                if self.delivery is not None:
                    try:
                        await self.delivery.deliver_due()
                    except Exception:
                        log.exception("WFM outbox unavailable")
                await asyncio.sleep(self.config.poll_seconds)
        finally:
            if self.delivery is not None:
                with contextlib.suppress(Exception):
                    await self.delivery.aclose()

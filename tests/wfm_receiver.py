"""A WFM webhook receiver built only on the ``standardwebhooks`` library, for tests and bench.

It verifies every delivery's signature and timestamp exactly as a WFM platform would
(``Webhook(secret).verify``), refuses what fails with 401, and processes each event once by its
``webhook-id`` (later deliveries of the same id are acknowledged and counted as duplicates).
``hold`` keeps the first delivery of the named ids open until released, to catch a deliverer
mid-delivery.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Receiver:
    secret: str
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: list[tuple[str, float]] = field(default_factory=list)
    refused: int = 0
    hold: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    held: set[str] = field(default_factory=set)

    def duplicates(self) -> int:
        return len(self.arrivals) - len({i for i, _ in self.arrivals})

    def app(self) -> Starlette:
        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            try:
                envelope = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError as exc:
                self.refused += 1
                return JSONResponse({"error": str(exc)}, status_code=401)
            event_id = request.headers["webhook-id"]
            self.arrivals.append((event_id, time.time()))
            if event_id in self.hold and event_id not in self.held:
                self.held.add(event_id)
                await self.release.wait()
            if event_id not in self.processed:
                self.processed[event_id] = envelope | {"_received_at": time.time()}
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def parse(body: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(body)
    return document

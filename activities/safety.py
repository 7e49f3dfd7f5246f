"""Safety side effects of a customer turn: run the local models (names and addresses for the
redaction, the injection score for the policy). A local activity: in-process, no server round
trip, on the turn's hot path; the decisions (``warmline.pii.redact_message``,
``warmline.safety.injection_decision``) are pure and run in the lifecycle machine.
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.safety import ScanRequest, TurnScan
from runtime.turn_scan import TurnScanner


class SafetyActivities:
    def __init__(self, scanner: TurnScanner) -> None:
        self.scanner = scanner

    @activity.defn
    async def scan_customer_turn(self, request: ScanRequest) -> TurnScan:
        # Payloads are validated by the converter; a dict from a non-Python client is checked
        # here so a bad one fails once, not on every retry.
        try:
            request = ScanRequest.model_validate(request)
        except ValidationError as exc:
            raise ApplicationError(
                f"invalid ScanRequest: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
                type="InvalidScanRequest",
                non_retryable=True,
            ) from exc
        return await self.scanner.scan_async(request.text)

"""The abuse gate as an activity: count a start or a turn fleet-wide and answer it.

A local activity on the start's and every turn's hot path (one store upsert per counter, no
server round trip; checks arriving together share one transaction); the policy is the active
routing config's (``RoutingConfig.abuse``, versioned with it), and what the answer means for the
interaction is the lifecycle's decision (``warmline.lifecycle.admission``).
"""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.abuse import AbuseDecision, AdmissionRequest
from runtime.abuse_gate import AbuseGate
from runtime.config_cache import RoutingConfigCache


class AbuseActivities:
    def __init__(self, gate: AbuseGate, configs: RoutingConfigCache) -> None:
        self.gate = gate
        self.configs = configs

    @activity.defn
    async def check_admission(self, request: AdmissionRequest) -> AbuseDecision:
        # A dict from a non-Python client is checked here so a bad one fails once, not on
        # every retry.
        try:
            request = AdmissionRequest.model_validate(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ApplicationError(
                f"invalid AdmissionRequest: {first['loc']}: {first['msg']}",
                type="InvalidAdmissionRequest",
                non_retryable=True,
            ) from exc
        config = await self.configs.get()
        policy = config.abuse.model_copy(update={"version": config.version})
        return await self.gate.check_async(request, policy)

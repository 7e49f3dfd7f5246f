"""Safety side effects of a customer turn: run the local models (names and addresses for the
redaction, the injection score for the policy). Local activities: in-process, no server round
trip, on the turn's hot path. ``screen_turn`` applies the routing config's safety policy
(``warmline.safety.injection_decision``, pure) to the score; what the action does to the
conversation is the lifecycle's (``warmline.lifecycle.screening``).
"""

from __future__ import annotations

import re

from temporalio import activity

from activities.inputs import validated
from models.redaction import PiiKind
from models.safety import InjectionScore, ScanRequest, ScreenRequest, TurnScan, TurnScreen
from runtime.config_cache import RoutingConfigCache
from runtime.turn_scan import TurnScanner
from warmline.injection import rule_hits
from warmline.safety import injection_decision

_LABELS = "|".join(sorted({re.escape(kind.label) for kind in PiiKind}, key=len, reverse=True))
_TOKEN = re.compile(rf"\[({_LABELS})(?:_\d+)?\]")


def plain_tokens(text: str) -> str:
    """``[EMAIL_1]`` -> ``email``: the detector learnt on raw messages, where bracketed
    upper-case markup is a sign of forged roles ("[SYSTEM]", which stays as it is), not of a
    redacted e-mail."""
    return _TOKEN.sub(lambda m: m.group(1).lower().replace("_", " "), text)


class SafetyActivities:
    def __init__(self, scanner: TurnScanner, configs: RoutingConfigCache | None = None) -> None:
        self.scanner = scanner
        self.configs = configs

    @activity.defn
    async def screen_turn(self, request: ScreenRequest) -> TurnScreen:
        request = validated(ScreenRequest, request)
        assert self.configs is not None, "screen_turn needs the routing config"
        config = await self.configs.get()
        policy = config.safety.model_copy(update={"version": config.version})
        text = plain_tokens(request.text)
        if policy.injection_threshold is not None and policy.injection_threshold >= 1.0:
            # Only a matched rule can act: the classifier's pass could not change the decision.
            score = self._rules_only(text)
        else:
            score = await self.scanner.injection_async(text)
        decision = injection_decision(policy, request.intent, request.channel, score)
        flagged = bool(score.rules) or score.score >= (
            policy.injection_threshold
            if policy.injection_threshold is not None
            else score.threshold
        )
        return TurnScreen(
            flagged=flagged,
            decision=decision,
            detector_version=score.detector_version,
            refusal_text=policy.refusal_text,
        )

    def _rules_only(self, text: str) -> InjectionScore:
        rules = [hit.rule for hit in rule_hits(text)]
        detector = self.scanner.detector
        return InjectionScore(
            flagged=bool(rules),
            score=1.0 if rules else 0.0,
            model_score=None,
            rules=rules,
            threshold=float(getattr(detector, "threshold", 1.0)),
            detector_version=str(getattr(detector, "version", "rules")),
        )

    @activity.defn
    async def scan_customer_turn(self, request: ScanRequest) -> TurnScan:
        # Payloads are validated by the converter; a dict from a non-Python client is checked
        # here so a bad one fails once, not on every retry.
        request = validated(ScanRequest, request)
        return await self.scanner.scan_async(request.text)

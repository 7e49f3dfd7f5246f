"""The safety policy as pure decisions: what an injection detection or a reply that breaks
policy does for this intent on this channel.

The most specific rule of the intent x channel table wins (intent and channel, then intent,
then channel, then the defaults), as in the supervision mode table: the intent carries the
risk (a refund intent tolerates money talk an order-status intent must not), the channel
shapes the answer (a voice call cannot wait for a review the way an e-mail can).
"""

from __future__ import annotations

from collections.abc import Iterable

from models.safety import (
    ANY,
    InjectionScore,
    ReplyCheck,
    SafetyAction,
    SafetyDecision,
    SafetyPolicy,
    SafetyRule,
)
from warmline.reply_checks import commitment_findings, echo_findings


def _rule(policy: SafetyPolicy, intent: str, channel: str) -> SafetyRule | None:
    matching = [
        rule
        for rule in policy.rules
        if rule.intent in (ANY, intent) and rule.channel in (ANY, channel)
    ]
    return max(matching, key=SafetyRule.specificity) if matching else None


def _where(rule: SafetyRule | None, policy: SafetyPolicy) -> str:
    if rule is None:
        return f"safety policy v{policy.version}: default"
    return f"safety policy v{policy.version}: rule intent={rule.intent} channel={rule.channel}"


def injection_decision(
    policy: SafetyPolicy, intent: str, channel: str, score: InjectionScore
) -> SafetyDecision:
    """What a customer message's injection score does. Below the threshold: allow (the score
    is still audited); at or above it: the rule's action.

    ``policy.injection_threshold`` overrides the detector's own threshold when set.
    """
    threshold = (
        policy.injection_threshold if policy.injection_threshold is not None else score.threshold
    )
    flagged = bool(score.rules) or score.score >= threshold
    rule = _rule(policy, intent, channel)
    reasons = [f"injection score {score.score:.3f} vs threshold {threshold:.3f}"]
    if score.rules:
        reasons.append("rules matched: " + ", ".join(score.rules))
    if not flagged:
        action = SafetyAction.ALLOW
        reasons.append("below threshold: allowed")
    else:
        action = rule.on_injection if rule is not None else policy.default_on_injection
        reasons.append(f"{_where(rule, policy)} -> {action.value}")
    return SafetyDecision(
        action=action,
        intent=intent,
        channel=channel,
        score=score.score,
        rules=list(score.rules),
        policy_version=policy.version,
        reasons=reasons,
    )


def check_reply(
    policy: SafetyPolicy,
    intent: str,
    channel: str,
    reply: str,
    system_prompt: str = "",
    tool_texts: Iterable[str] = (),
) -> ReplyCheck:
    """Check one AI reply before the customer sees it; a finding triggers the rule's action.

    ``reply`` should be the redacted reply (findings quote no text, only what was found).
    """
    allowance = policy.allowance(intent)
    findings = [
        *commitment_findings(reply, allowance),
        *echo_findings(reply, system_prompt, tool_texts, policy.echo_min_words),
    ]
    rule = _rule(policy, intent, channel)
    if not findings:
        return ReplyCheck(
            action=SafetyAction.ALLOW,
            intent=intent,
            channel=channel,
            policy_version=policy.version,
            reasons=["no finding"],
        )
    action = rule.on_reply_violation if rule is not None else policy.default_on_reply_violation
    reasons = [f.detail for f in findings] + [f"{_where(rule, policy)} -> {action.value}"]
    return ReplyCheck(
        action=action,
        findings=findings,
        intent=intent,
        channel=channel,
        policy_version=policy.version,
        reasons=reasons,
    )

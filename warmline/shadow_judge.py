"""Shadow versions judged: each stored shadow answer compared with what production answered.

Pure: the agreement scores (cosine similarity of sentence embeddings) are computed by the
runtime with the local encoder and arrive on each ``ShadowPair``; everything else is decided
here. Criteria, each with its limit in ``ShadowGate``:

- semantic agreement: the mean, and the share of answers far from production's;
- policy: commitments outside the intent's allowance (refunds, account changes, amounts,
  ``warmline.reply_checks``) that the shadow made and production did not, for the same turn;
- escalation disagreement: the shadow asked for a human where production answered, or the
  other way round;
- errors, and cost and latency against production's (mean per AI turn).

Too few answers is inconclusive, never passed (Argo's rule: inconclusive never promotes).
``canary_gate`` is what ``CanaryRolloutWorkflow`` asks before the first step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from models.safety import CommitmentAllowance
from models.shadow import (
    ShadowFinding,
    ShadowGate,
    ShadowPair,
    ShadowReport,
    ShadowVerdict,
)
from warmline.reply_checks import commitment_findings

MAX_FINDINGS = 20
ESCALATE = "escalate"


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def policy_findings(
    pair: ShadowPair, allowances: Mapping[str, CommitmentAllowance]
) -> list[ShadowFinding]:
    """Commitments the shadow made outside the intent's allowance that production did not."""
    if not pair.shadow_text:
        return []
    intent = pair.intent or "unknown"
    allowance = allowances.get(intent, CommitmentAllowance(intent=intent))
    live = {f.kind for f in commitment_findings(pair.live_text, allowance)}
    return [
        ShadowFinding(
            interaction_id=pair.interaction_id,
            turn=pair.turn,
            kind=finding.kind.value,
            detail=finding.detail,
        )
        for finding in commitment_findings(pair.shadow_text, allowance)
        if finding.kind not in live
    ]


def _ratio_reason(name: str, shadow: float | None, live: float | None, limit: float) -> str | None:
    if shadow is None or live is None or live <= 0:
        return None
    ratio = shadow / live
    if ratio > limit:
        return f"{name} {ratio:.2f}x production's, above {limit:g}x"
    return None


def judge(
    endpoint: str,
    pairs: Sequence[ShadowPair],
    gate: ShadowGate,
    allowances: Mapping[str, CommitmentAllowance] | None = None,
) -> ShadowReport:
    """The report on ``endpoint``'s shadow answers, with the verdict and its reasons."""
    allowances = allowances or {}
    answered = [p for p in pairs if p.error is None and p.shadow_text is not None]
    errors = len(pairs) - len(answered)
    scores = [p.agreement for p in answered if p.agreement is not None]
    low = sum(score < gate.low_agreement_below for score in scores)
    shadow_escalated = sum(p.shadow_action == ESCALATE and not p.live_escalated for p in answered)
    live_escalated = sum(p.live_escalated and p.shadow_action != ESCALATE for p in answered)
    findings = [f for p in answered for f in policy_findings(p, allowances)]
    latencies = [p.shadow_latency_ms for p in answered]
    live_latency = _mean([p.live_latency_ms for p in answered if p.live_latency_ms is not None])
    shadow_cost = _mean([p.shadow_cost_usd for p in answered])
    live_cost = _mean([p.live_cost_usd for p in answered if p.live_cost_usd is not None])
    report = ShadowReport(
        endpoint=endpoint,
        live_versions=sorted({p.live_model_version for p in pairs}),
        answers=len(pairs),
        errors=errors,
        compared=len(scores),
        mean_agreement=round(m, 4) if (m := _mean(scores)) is not None else None,
        p10_agreement=round(q, 4) if (q := _quantile(scores, 0.1)) is not None else None,
        low_agreement=low,
        shadow_escalated_live_replied=shadow_escalated,
        live_escalated_shadow_replied=live_escalated,
        policy_violations=len(findings),
        findings=findings[:MAX_FINDINGS],
        shadow_latency_ms_mean=round(m, 1) if (m := _mean(latencies)) is not None else None,
        shadow_latency_ms_p95=_quantile(latencies, 0.95),
        live_latency_ms_mean=round(live_latency, 1) if live_latency is not None else None,
        shadow_cost_per_answer=shadow_cost,
        live_cost_per_answer=live_cost,
        gate=gate,
        verdict=ShadowVerdict.INCONCLUSIVE,
    )
    report.verdict, report.reasons = _verdict(report, gate)
    return report


def _verdict(report: ShadowReport, gate: ShadowGate) -> tuple[ShadowVerdict, list[str]]:
    if report.compared < gate.min_answers:
        return ShadowVerdict.INCONCLUSIVE, [
            f"{report.compared} answers compared, fewer than {gate.min_answers}: inconclusive"
        ]
    failed: list[str] = []
    compared = report.compared
    if report.mean_agreement is not None and report.mean_agreement < gate.min_mean_agreement:
        failed.append(
            f"mean agreement {report.mean_agreement:.2f} below {gate.min_mean_agreement:g}"
        )
    if report.low_agreement / compared > gate.max_low_agreement_share:
        failed.append(
            f"{report.low_agreement} of {compared} answers agree less than "
            f"{gate.low_agreement_below:g}, above {gate.max_low_agreement_share:.0%}"
        )
    if report.policy_violations > gate.max_policy_violations:
        failed.append(
            f"{report.policy_violations} commitments outside policy production did not make "
            f"(at most {gate.max_policy_violations})"
        )
    disagreements = report.shadow_escalated_live_replied + report.live_escalated_shadow_replied
    if disagreements / compared > gate.max_escalation_disagreement:
        failed.append(
            f"escalation differs on {disagreements} of {compared} answers "
            f"(shadow escalated {report.shadow_escalated_live_replied}, production "
            f"{report.live_escalated_shadow_replied}), above {gate.max_escalation_disagreement:.0%}"
        )
    if report.errors / report.answers > gate.max_error_rate:
        failed.append(
            f"{report.errors} of {report.answers} shadow calls failed, above "
            f"{gate.max_error_rate:.0%}"
        )
    for reason in (
        _ratio_reason(
            "mean latency",
            report.shadow_latency_ms_mean,
            report.live_latency_ms_mean,
            gate.max_latency_ratio,
        ),
        _ratio_reason(
            "cost per answer",
            report.shadow_cost_per_answer,
            report.live_cost_per_answer,
            gate.max_cost_ratio,
        ),
    ):
        if reason is not None:
            failed.append(reason)
    if failed:
        return ShadowVerdict.FAILED, failed
    agreement = f"{report.mean_agreement:.2f}" if report.mean_agreement is not None else "n/a"
    return ShadowVerdict.PASSED, [
        f"{compared} answers: mean agreement {agreement}, {report.policy_violations} policy "
        f"violations, escalation differs on {disagreements}, {report.errors} errors"
    ]


def canary_gate(report: ShadowReport) -> tuple[bool, list[str]]:
    """Whether a canary may take its first step: only on a passed shadow report."""
    head = f"shadow report on {report.endpoint}: {report.verdict.value}"
    return report.verdict is ShadowVerdict.PASSED, [head, *report.reasons]

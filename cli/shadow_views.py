"""How a shadow report is shown (``warmline fleet shadow-report``, the end of ``warmline demo``).

Rendering only; the report comes from the API.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from models.shadow import ShadowReport, ShadowVerdict

VERDICT_STYLE = {
    ShadowVerdict.PASSED: "green",
    ShadowVerdict.FAILED: "red",
    ShadowVerdict.INCONCLUSIVE: "yellow",
}


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def shadow_report_table(report: ShadowReport) -> Table:
    style = VERDICT_STYLE[report.verdict]
    table = Table(
        title=f"Shadow report: {report.endpoint} against {', '.join(report.live_versions) or '-'}"
        f" [{style}]{report.verdict.value}[/{style}]",
        caption="; ".join(report.reasons),
    )
    table.add_column("measure")
    table.add_column("shadow", justify="right")
    table.add_column("production", justify="right")
    table.add_column("limit", justify="right")
    gate = report.gate
    table.add_row("answers (errors)", f"{report.answers} ({report.errors})", "", "")
    table.add_row(
        "semantic agreement, mean / p10",
        f"{_num(report.mean_agreement)} / {_num(report.p10_agreement)}",
        "",
        f">= {gate.min_mean_agreement:g}",
    )
    table.add_row(
        f"answers agreeing < {gate.low_agreement_below:g}",
        str(report.low_agreement),
        "",
        f"<= {gate.max_low_agreement_share:.0%}",
    )
    table.add_row(
        "escalated where the other replied",
        str(report.shadow_escalated_live_replied),
        str(report.live_escalated_shadow_replied),
        f"<= {gate.max_escalation_disagreement:.0%}",
    )
    table.add_row(
        "commitments outside policy",
        str(report.policy_violations),
        "",
        f"<= {gate.max_policy_violations}",
    )
    mean, p95 = report.shadow_latency_ms_mean, report.shadow_latency_ms_p95
    table.add_row(
        "latency ms, mean (p95)",
        f"{_num(mean, '{:.0f}')} ({_num(p95, '{:.0f}')})",
        _num(report.live_latency_ms_mean, "{:.0f}"),
        f"<= {gate.max_latency_ratio:g}x",
    )
    table.add_row(
        "cost per answer $",
        _num(report.shadow_cost_per_answer, "{:.5f}"),
        _num(report.live_cost_per_answer, "{:.5f}"),
        f"<= {gate.max_cost_ratio:g}x",
    )
    return table


def print_shadow_report(report: ShadowReport, console: Console | None = None) -> None:
    out = console or Console()
    out.print(shadow_report_table(report))
    for finding in report.findings:
        out.print(
            f"  {finding.interaction_id} turn {finding.turn}: {finding.kind}: {finding.detail}"
        )

"""The regulatory policy Warmline starts with (the routing config's default ``regulatory``): a
conservative reading of the duties issue #14 names, meant to be
reviewed by the operator's counsel and changed as data.

Defaults everywhere (``*``): disclose the AI and ask before calling back (the safe choice where
nothing more specific is known). The EU adds the automated-decision notice and the right to a
human; the US makes TCPA consent explicit; the all-party-consent states add a recording
notice on voice; California, Utah and Colorado add their AI and automated-decision rules.
"""

from __future__ import annotations

from models.compliance import RegionRule, RegulatoryPolicy

ALL_PARTY_CONSENT_STATES = ("ca", "ct", "de", "fl", "il", "md", "ma", "mi", "mt", "nv", "nh",
                            "or", "pa", "wa")  # fmt: skip
"""US states that require every party's consent to record a call (statutes vary in detail)."""


def default_regulatory_policy() -> RegulatoryPolicy:
    rules = [
        RegionRule(
            region="*",
            ai_disclosure=True,
            consent_before_callback=True,
            consent_before_outbound=True,
            basis=["default: disclose AI, consent before contact"],
        ),
        RegionRule(
            region="eu",
            ai_disclosure=True,
            automated_decision_notice=True,
            right_to_human=True,
            recording_notice=True,
            basis=["EU AI Act Art. 50 (transparency)", "GDPR Art. 22 (human intervention)"],
        ),
        RegionRule(
            region="uk",
            automated_decision_notice=True,
            right_to_human=True,
            recording_notice=True,
            basis=["UK GDPR Art. 22"],
        ),
        RegionRule(
            region="us",
            consent_before_callback=True,
            consent_before_outbound=True,
            basis=["TCPA 47 U.S.C. 227 (prior express consent)"],
        ),
        RegionRule(
            region="us-ca",
            ai_disclosure=True,
            automated_decision_notice=True,
            right_to_human=True,
            basis=["California SB 1001 (bot disclosure)", "CCPA/CPRA ADMT regulations"],
        ),
        RegionRule(region="us-ut", ai_disclosure=True, basis=["Utah AI Policy Act"]),
        RegionRule(
            region="us-co",
            ai_disclosure=True,
            automated_decision_notice=True,
            right_to_human=True,
            basis=["Colorado AI Act (SB 24-205)"],
        ),
    ]
    rules += [
        RegionRule(
            region=f"us-{state}",
            channel="voice",
            recording_notice=True,
            basis=[f"all-party consent to record ({state.upper()})"],
        )
        for state in ALL_PARTY_CONSENT_STATES
    ]
    return RegulatoryPolicy(rules=rules)

"""The routing every benchmark runs on: all interactions to the AI, none escalated by rule."""

from __future__ import annotations

from models.abuse import AbusePolicy
from models.routing import ThresholdRule
from models.safety import SafetyAction
from models.supervision import SupervisionMode, SupervisionPolicy
from store.repository import Store
from warmline.default_config import default_routing_config


def store_ai_only_routing(store: Store, ai_url: str) -> None:
    """Every interaction goes to the AI, no session hits the turn limit or an abuse limit, and
    the AI answers unreviewed (supervision is measured by its own tests)."""
    config = default_routing_config(ai_url)
    policy = config.escalation.model_copy(update={"max_turns": 10_000})
    store.save_routing_config(
        config.model_copy(
            update={
                "intent_map": {},
                "thresholds": [ThresholdRule(ai_min=0.0, monitored_min=0.0)],
                "escalation": policy,
                "max_turns_per_run": 10_000,
                # The limits are checked (their cost is measured) but a benchmark's flood from
                # one source is what it measures, not abuse.
                "abuse": AbusePolicy(
                    rules=[
                        rule.model_copy(update={"limit": 10_000_000}) for rule in config.abuse.rules
                    ],
                    repeats=None,
                ),
            }
        ),
        "bench",
    )
    store.save_supervision_policy(
        SupervisionPolicy(default_mode=SupervisionMode.FULLY_AUTONOMOUS), "bench"
    )


def store_injection_model_screen(store: Store) -> None:
    """The active config with the injection detector's model scoring every customer message
    (the default policy runs its rules only), its verdicts allowed through: turns measure the
    model's cost, not holds (it flags some of the benchmark's templated turns)."""
    config = store.active_routing_config()
    assert config is not None, "store_ai_only_routing first"
    safety = config.safety.model_copy(
        update={
            "injection_threshold": None,
            "rules": [],
            "default_on_injection": SafetyAction.ALLOW,
        }
    )
    store.save_routing_config(config.model_copy(update={"safety": safety}), "bench")


def set_turn_checks(store: Store, on: bool) -> None:
    """The active config with later turns' intent checks on or off (``handoff.reevaluate_turns``);
    an interaction keeps what it started with."""
    config = store.active_routing_config()
    assert config is not None, "store_ai_only_routing first"
    handoff = config.handoff.model_copy(update={"reevaluate_turns": on})
    store.save_routing_config(config.model_copy(update={"handoff": handoff}), "bench")

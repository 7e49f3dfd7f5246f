"""The supervision policy the embedded stack starts with (the demo's contact center).

Low-risk informational intents run fully autonomous, everyday service semi-autonomous, and
money-moving intents stay fully supervised (pilot): what a center a few months into its AI
deployment would run. Production stores its own policy versions; phases then move intents.
"""

from __future__ import annotations

from models.supervision import ModeRule, SupervisionMode, SupervisionPolicy

AUTONOMOUS = ("store_hours", "order_status", "product_information", "loyalty_points")
SUPERVISED = ("refund_request",)


def default_supervision_policy() -> SupervisionPolicy:
    rules = [ModeRule(intent=i, mode=SupervisionMode.FULLY_AUTONOMOUS) for i in AUTONOMOUS]
    rules += [ModeRule(intent=i, mode=SupervisionMode.FULLY_SUPERVISED) for i in SUPERVISED]
    return SupervisionPolicy(default_mode=SupervisionMode.SEMI_AUTONOMOUS, modes=rules)

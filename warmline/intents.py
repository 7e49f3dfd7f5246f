"""The contact-center intents the bundled model and default routing config know.

A contact center that trains its own model brings its own labels; nothing else in Warmline
depends on this list except the defaults (example data set, default routing config, demo).
"""

from __future__ import annotations

OUT_OF_SCOPE = "oos"

DEFAULT_INTENTS: tuple[str, ...] = (
    "password_reset",
    "billing_inquiry",
    "refund_request",
    "complaint",
    "account_closure",
    "technical_support",
    "order_status",
    "shipping_delay",
    "update_address",
    "cancel_subscription",
    "upgrade_plan",
    "payment_failed",
    "lost_card",
    "fraud_report",
    "appointment_booking",
    "product_information",
    "return_item",
    "loyalty_points",
    "invoice_copy",
    "warranty_claim",
    "change_delivery",
    "store_hours",
)

"""Self-service answers offered instead of a queue when humans are scarce.

A contact center replaces these with links into its own knowledge base; the defaults keep the
demo honest about what a deflected customer receives.
"""

from __future__ import annotations

KNOWLEDGE_BASE: dict[str, str] = {
    "password_reset": "You can reset your password yourself at Account > Security > Reset "
    "password; the link we e-mail stays valid for 30 minutes.",
    "order_status": "Live tracking for every order is under Orders in your account, updated "
    "as soon as the carrier scans the parcel.",
    "shipping_delay": "Current delivery times and carrier notices are on our Delivery status "
    "page; orders delayed over 5 days are refunded the shipping fee automatically.",
    "store_hours": "Opening hours for every store are listed in the store finder.",
    "invoice_copy": "Every invoice can be downloaded as a PDF under Billing > Invoices.",
    "update_address": "You can change your address under Account > Profile; orders not yet "
    "shipped follow the new address.",
    "loyalty_points": "Your points balance and history are under Account > Rewards.",
    "product_information": "Specifications, manuals and compatibility notes are on each "
    "product page under Details.",
    "appointment_booking": "You can book, move or cancel appointments online under "
    "Appointments, any time of day.",
    "change_delivery": "Delivery date and place can be changed from the tracking page until "
    "the parcel leaves the depot.",
}


def self_service_answer(intent: str) -> str | None:
    return KNOWLEDGE_BASE.get(intent)

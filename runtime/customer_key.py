"""The server secret of the pseudonymous customer key the facts record.

Calibration needs to see a customer come back (repeat contact) without the store ever holding
who the customer is: the facts keep ``warmline.customers.customer_key``, an HMAC of tenant and
customer id under ``WARMLINE_CUSTOMER_KEY_SECRET``. Every worker of a deployment needs the same
value (else one customer gets two keys), and changing it makes every returning customer look
new. Without the setting only the embedded stack has one: ``warmline dev`` keeps a random one in
``<data_dir>/customer-key-secret``; a worker without either refuses to start.
"""

from __future__ import annotations

from runtime import secret_files
from runtime.settings import Settings

CUSTOMER_KEY_SECRET = secret_files.ServerSecret(
    file="customer-key-secret",
    setting="WARMLINE_CUSTOMER_KEY_SECRET",
    what="customer-key server secret",
    why="every worker keys customers with the same one",
)


def customer_key_secret(settings: Settings) -> bytes:
    """The configured secret, else the embedded stack's file; never a new one."""
    return CUSTOMER_KEY_SECRET.read(settings.customer_key_secret, settings.data_dir)


def ensure_local_customer_key_secret(settings: Settings) -> None:
    """For the embedded stack only: create ``<data_dir>/customer-key-secret`` (mode 0600)
    unless the secret is configured or the file exists."""
    CUSTOMER_KEY_SECRET.ensure_local(settings.customer_key_secret, settings.data_dir)

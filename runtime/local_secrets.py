"""The embedded stack's keys: the one place Warmline creates secrets of its own.

``warmline dev`` and ``warmline demo`` (``cli.stack``) and the benchmarks, which play an
embedded stack, call ``ensure_local_secrets`` before anything opens the store: it creates each
key file the settings do not replace (0600, in the data directory, once). Every other process
reads those files or the ``WARMLINE_*`` settings and refuses to start without either
(``runtime.secret_files.MissingSecret``); ``tests/runtime/test_local_secrets.py`` holds the
code to that.
"""

from __future__ import annotations

from runtime.api_key_secret import ensure_local_api_key_secret
from runtime.audit_keys import ensure_local_audit_keys
from runtime.codec import ensure_local_payload_keys
from runtime.customer_key import ensure_local_customer_key_secret
from runtime.settings import Settings


def ensure_local_secrets(settings: Settings) -> None:
    """Payload key ring, audit key ring, checkpoint signing key, API-key and customer-key
    server secrets for a local stack."""
    ensure_local_payload_keys(settings)
    ensure_local_audit_keys(settings)
    ensure_local_api_key_secret(settings)
    ensure_local_customer_key_secret(settings)

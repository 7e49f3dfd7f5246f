"""Where the API's key-checking secret and the embedded stack's own API token live.

``WARMLINE_API_KEY_SECRET`` keys the HMAC the store keeps of every API key; every API replica of a
deployment needs the same value, and changing it invalidates every key (issue new ones). Without
it a single host keeps a random one in ``<data_dir>/api-key-secret``.

``<data_dir>/api-token`` is the embedded stack's own admin key (``warmline dev`` mints it), which
the CLI on the same machine uses when no token is configured and the API is on loopback.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from runtime import secret_files
from runtime.settings import Settings

API_KEY_SECRET_FILE = "api-key-secret"
LOCAL_TOKEN_FILE = "api-token"
MIN_SECRET_CHARS = 32


class ApiKeySecretError(ValueError):
    """A server secret too short to key an HMAC with; raised at startup."""


def api_key_secret(settings: Settings) -> bytes:
    """The configured secret, else the data directory's, created on first use."""
    if settings.api_key_secret is not None:
        value = settings.api_key_secret.get_secret_value()
        where = "WARMLINE_API_KEY_SECRET"
    else:
        path = settings.data_dir / API_KEY_SECRET_FILE
        secret_files.create_once(path, lambda: secrets.token_urlsafe(48) + "\n")
        value = secret_files.read_private(path)
        where = str(path)
    value = value.strip()
    if len(value) < MIN_SECRET_CHARS:
        raise ApiKeySecretError(f"{where} must be at least {MIN_SECRET_CHARS} characters")
    return value.encode()


def local_token_path(settings: Settings) -> Path:
    return settings.data_dir / LOCAL_TOKEN_FILE

"""Where the API's key-checking secret and the embedded stack's own API token live.

``WARMLINE_API_KEY_SECRET`` keys the HMAC the store keeps of every API key; every API replica of a
deployment needs the same value, and changing it invalidates every key (issue new ones). Without
it only the embedded stack has one: ``warmline dev`` keeps a random one in
``<data_dir>/api-key-secret`` (``ensure_local_api_key_secret``); ``warmline api`` or ``warmline
access ... --direct`` without either refuses to start, since a secret it invented would match
no key any other replica issued.

``<data_dir>/api-token`` is the embedded stack's own admin key (``warmline dev`` mints it), which
the CLI on the same machine uses when no token is configured and the API is on loopback.
"""

from __future__ import annotations

from pathlib import Path

from runtime import secret_files
from runtime.settings import Settings

API_KEY_SECRET = secret_files.ServerSecret(
    file="api-key-secret",
    setting="WARMLINE_API_KEY_SECRET",
    what="API-key server secret",
    why="every API replica checks API keys with the same one",
)
LOCAL_TOKEN_FILE = "api-token"


ApiKeySecretError = secret_files.ShortSecret
"""A server secret too short to key an HMAC with (any of them); raised at startup."""


def api_key_secret(settings: Settings) -> bytes:
    """The configured secret, else the embedded stack's file; never a new one."""
    return API_KEY_SECRET.read(settings.api_key_secret, settings.data_dir)


def ensure_local_api_key_secret(settings: Settings) -> None:
    """For the embedded stack only: create ``<data_dir>/api-key-secret`` (mode 0600) unless
    the secret is configured or the file exists."""
    API_KEY_SECRET.ensure_local(settings.api_key_secret, settings.data_dir)


def local_token_path(settings: Settings) -> Path:
    return settings.data_dir / LOCAL_TOKEN_FILE

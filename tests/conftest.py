"""Suite-wide options: run integration tests against the bundled dev server or a real cluster."""

from __future__ import annotations

import os

import pytest

from runtime.key_ring import format_key_ring
from tests.audit_keys import (
    TEST_API_KEY_SECRET,
    TEST_AUDIT_KEYS_SETTING,
    TEST_CUSTOMER_KEY_SECRET,
    TEST_SIGNING_KEY_SETTING,
)

pytest_plugins = ["tests.torch_threads"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--temporal-address",
        default=None,
        help="Use an existing Temporal frontend (host:port) instead of starting the dev server.",
    )


TEST_PAYLOAD_KEYS_SETTING = format_key_ring({"test-payload": bytes(range(32))})
DEPLOYMENT_SECRETS = {
    "WARMLINE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS_SETTING,
    "WARMLINE_AUDIT_KEYS": TEST_AUDIT_KEYS_SETTING,
    "WARMLINE_AUDIT_SIGNING_KEY": TEST_SIGNING_KEY_SETTING,
    "WARMLINE_API_KEY_SECRET": TEST_API_KEY_SECRET,
    "WARMLINE_CUSTOMER_KEY_SECRET": TEST_CUSTOMER_KEY_SECRET,
}


def pytest_configure(config: pytest.Config) -> None:
    """The suite runs as a deployment does: every key is a ``WARMLINE_*`` setting.

    Only the embedded stack creates key files (``runtime.local_secrets``); any other process
    without the setting refuses to start. So the tests, the apps some build while collected,
    and the ``warmline`` processes they spawn get the fixed test keys from the environment; a
    test of the embedded stack's files or of a refusal removes them itself (``monkeypatch``).
    """
    os.environ.update(DEPLOYMENT_SECRETS)

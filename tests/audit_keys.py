"""Fixed keys for tests: a store opened here links (and verifies) with known keys.

Fixed, not random, so a CLI command run by a test (``WARMLINE_AUDIT_KEYS``) and the test's own
store share one ring. Never used outside tests.
"""

from __future__ import annotations

import base64

from runtime.key_ring import format_key_ring
from store.repository import Store
from warmline.audit import AuditKeyRing

TEST_KEY_RING = {"test-2": bytes(range(32, 64)), "test-1": bytes(range(32))}
TEST_AUDIT_KEYS = AuditKeyRing(TEST_KEY_RING)
TEST_AUDIT_KEYS_SETTING = format_key_ring(TEST_KEY_RING)
TEST_SIGNING_KEY = bytes(range(100, 132))
TEST_SIGNING_KEY_SETTING = base64.b64encode(TEST_SIGNING_KEY).decode()
TEST_API_KEY_SECRET = "test-api-key-server-secret-" + "x" * 16
TEST_CUSTOMER_KEY_SECRET = "test-customer-key-server-secret-" + "y" * 16


def open_test_store(url: str) -> Store:
    return Store.from_url(url, audit_keys=TEST_AUDIT_KEYS)

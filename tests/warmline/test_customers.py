"""The pseudonymous customer key and the repeat-contact rule: pure, no store, no Temporal."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warmline.customers import customer_key
from warmline.outcomes import repeat_contact

SECRET = b"s" * 32
WINDOW = timedelta(hours=72)
T0 = datetime(2025, 1, 1, 10, tzinfo=UTC)


def test_the_key_is_the_hmac_of_tenant_and_id_under_the_secret() -> None:
    message = (4).to_bytes(4, "big") + b"acme" + b"crm-42"
    expected = "ck1:" + hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert customer_key(SECRET, "acme", "crm-42") == expected


def test_the_same_customer_of_the_same_tenant_gets_the_same_key_and_nothing_else_does() -> None:
    key = customer_key(SECRET, "acme", "crm-42")
    assert customer_key(SECRET, "acme", "crm-42") == key
    assert customer_key(SECRET, "globex", "crm-42") != key
    assert customer_key(SECRET, "acme", "crm-43") != key
    assert customer_key(b"t" * 32, "acme", "crm-42") != key  # another deployment's secret


def test_a_missing_or_blank_tenant_is_the_default_one_as_admission_counts_it() -> None:
    default = customer_key(SECRET, "default", "crm-42")
    assert customer_key(SECRET, None, "crm-42") == default
    assert customer_key(SECRET, "  ", "crm-42") == default


def test_tenant_and_id_cannot_be_shifted_into_each_other() -> None:
    assert customer_key(SECRET, "ab", "c") != customer_key(SECRET, "a", "bc")


@given(st.text(max_size=40), st.text(min_size=1, max_size=128))
def test_the_key_is_a_fixed_length_digest_whatever_the_id(tenant: str, customer_id: str) -> None:
    """Nothing of the id shows through: the key is the scheme and 64 hex digits, always."""
    key = customer_key(SECRET, tenant, customer_id)
    assert key.startswith("ck1:") and len(key) == 68
    assert set(key[4:]) <= set("0123456789abcdef")


def test_a_return_within_the_window_is_a_repeat_contact() -> None:
    assert repeat_contact(True, T0, T0 + timedelta(hours=1), None, WINDOW) is True
    assert repeat_contact(True, T0, T0 + WINDOW, T0 + WINDOW, WINDOW) is True  # edge included


def test_no_return_by_the_end_of_the_window_is_not_a_repeat_contact() -> None:
    assert repeat_contact(True, T0, None, T0 + WINDOW, WINDOW) is False
    late = T0 + WINDOW + timedelta(seconds=1)
    assert repeat_contact(True, T0, late, late, WINDOW) is False


def test_an_open_window_or_an_unknown_customer_is_unknown() -> None:
    assert repeat_contact(True, T0, None, T0 + WINDOW - timedelta(seconds=1), WINDOW) is None
    assert repeat_contact(True, T0, None, None, WINDOW) is None
    assert repeat_contact(False, T0, T0 + timedelta(hours=1), T0 + WINDOW * 2, WINDOW) is None

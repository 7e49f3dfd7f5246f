"""The roles -> permissions table and the pure parts of credentials."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.access import Permission, Role
from warmline.access import (
    ROLE_PERMISSIONS,
    api_key_digest,
    claim_at,
    digest_matches,
    format_api_key,
    parse_api_key,
    permissions_of,
    roles_from_claim,
    roles_with,
)

SECRET = b"s" * 48


def test_every_role_is_in_the_table_and_every_permission_is_granted() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set().union(*ROLE_PERMISSIONS.values()) == set(Permission)


def test_only_supervisors_and_auditors_read_customer_text() -> None:
    assert set(roles_with(Permission.PAYLOAD_DECODE)) == {Role.SUPERVISOR, Role.AUDITOR}
    assert roles_with(Permission.REVIEW) == [Role.SUPERVISOR]


def test_duties_are_separated() -> None:
    # Reviews and the sign-off that reduces supervision are never the same role's.
    assert not set(roles_with(Permission.REVIEW)) & set(roles_with(Permission.SIGN_OFF))
    # The admin administers access and retention and reads configuration; it changes nothing
    # else and decrypts nothing.
    admin = ROLE_PERMISSIONS[Role.ADMIN]
    assert Permission.ACCESS_ADMIN in admin
    changes = {
        Permission.PAYLOAD_DECODE,
        Permission.REVIEW,
        Permission.SIGN_OFF,
        Permission.CANARY_CONTROL,
        Permission.ROLLBACK_CONTROL,
        Permission.ROUTING_CHANGE,
        Permission.FLEET_CHANGE,
    }
    assert not admin & changes
    assert roles_with(Permission.ACCESS_ADMIN) == [Role.ADMIN]
    assert ROLE_PERMISSIONS[Role.INTERACTION_CLIENT] == {Permission.PAYLOAD_ENCODE}
    assert ROLE_PERMISSIONS[Role.WFM_READER] == {
        Permission.WFM_READ,
        Permission.SCHEDULE_PUSH,
        Permission.METRICS_READ,
    }


def test_retention_needs_two_roles_to_purge_what_a_hold_keeps() -> None:
    deciders = set(roles_with(Permission.RETENTION_CHANGE))
    keepers = set(roles_with(Permission.LEGAL_HOLD))
    assert deciders == {Role.ADMIN} and keepers == {Role.AUDITOR}
    assert not deciders & keepers  # no one role both releases a hold and shortens the policy
    # Whose changes the audit records has no say over how long it is kept.
    for role in (Role.OPERATOR, Role.RELEASE_MANAGER, Role.SUPERVISOR):
        assert not ROLE_PERMISSIONS[role] & {Permission.RETENTION_CHANGE, Permission.LEGAL_HOLD}
    assert set(roles_with(Permission.RETENTION_READ)) == deciders | keepers
    assert roles_with(Permission.EXPORT) == [Role.AUDITOR]


def test_permissions_of_is_the_union() -> None:
    both = permissions_of([Role.WFM_READER, Role.INTERACTION_CLIENT])
    assert both == ROLE_PERMISSIONS[Role.WFM_READER] | ROLE_PERMISSIONS[Role.INTERACTION_CLIENT]
    assert permissions_of([]) == frozenset()


@pytest.mark.parametrize(
    ("value", "roles", "ignored"),
    [
        (["supervisor", "auditor"], {Role.SUPERVISOR, Role.AUDITOR}, []),
        ("operator admin", {Role.OPERATOR, Role.ADMIN}, []),
        ("operator,wfm_reader", {Role.OPERATOR, Role.WFM_READER}, []),
        (["supervisor", "Domain Users", 7], {Role.SUPERVISOR}, ["Domain Users"]),
        (None, set(), []),
        ({"supervisor": True}, set(), []),
    ],
)
def test_roles_from_claim(value: Any, roles: set[Role], ignored: list[str]) -> None:
    assert roles_from_claim(value) == (frozenset(roles), ignored)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=8))
def test_roles_from_claim_never_fails_on_any_json(value: Any) -> None:
    roles, _ = roles_from_claim(value)
    assert roles <= set(Role)


def test_claim_at_reads_nested_and_dotted_names() -> None:
    claims = {
        "realm_access": {"roles": ["auditor"]},
        "https://warmline.example/roles": ["operator"],
        "email": "ana@example.com",
    }
    assert claim_at(claims, "realm_access.roles") == ["auditor"]
    assert claim_at(claims, "https://warmline.example/roles") == ["operator"]
    assert claim_at(claims, "email") == "ana@example.com"
    assert claim_at(claims, "realm_access.groups") is None
    assert claim_at(claims, "email.domain") is None


@given(
    st.text("0123456789abcdef", min_size=12, max_size=12),
    st.text(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=32, max_size=64
    ),
)
def test_api_key_format_round_trips(key_id: str, secret: str) -> None:
    assert parse_api_key(format_api_key(key_id, secret)) == (key_id, secret)


@pytest.mark.parametrize(
    "token",
    ["", "wl_", "wl_abc_" + "x" * 40, "wl_0123456789ab_short", "xx_0123456789ab_" + "x" * 40,
     "wl_0123456789AB_" + "x" * 40, "wl_0123456789ab_" + "x" * 40 + "!"],
)  # fmt: skip
def test_malformed_api_keys_are_not_parsed(token: str) -> None:
    assert parse_api_key(token) is None


def test_digest_binds_secret_key_id_and_server_secret() -> None:
    digest = api_key_digest(SECRET, "0123456789ab", "x" * 43)
    assert digest_matches(digest, api_key_digest(SECRET, "0123456789ab", "x" * 43))
    assert not digest_matches(digest, api_key_digest(SECRET, "0123456789ab", "x" * 42 + "y"))
    assert not digest_matches(digest, api_key_digest(SECRET, "0123456789ac", "x" * 43))
    assert not digest_matches(digest, api_key_digest(b"t" * 48, "0123456789ab", "x" * 43))

"""OIDC token verification against a JWKS served over loopback by the test itself.

No external identity provider can run here, so ``tests.identity`` plays it: real key pairs, a
real HTTP server publishing the JWKS, real signed tokens. The verifier fetches the keys over HTTP
as it would from any IdP.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from models.access import CredentialKind, Role
from runtime.oidc import (
    CredentialRejected,
    IdentityProviderUnavailable,
    JwksCache,
    JwtVerifier,
)
from tests.identity import LoopbackIdP, ec_key, rsa_key, serve_idp


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def idp() -> AsyncIterator[LoopbackIdP]:
    async with serve_idp() as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def verifier(
    idp: LoopbackIdP, http: httpx.AsyncClient, clock: Clock | None = None, **settings: object
) -> tuple[JwtVerifier, JwksCache]:
    configured = idp.settings(**settings)
    jwks = JwksCache(
        idp.jwks_url,
        http,
        ttl_seconds=configured.oidc_jwks_cache_seconds,
        refresh_seconds=configured.oidc_jwks_refresh_seconds,
        clock=clock or Clock(),
    )
    return JwtVerifier(configured, jwks), jwks


async def test_a_valid_token_is_its_subject_with_its_warmline_roles(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    check, _ = verifier(idp, http)
    token = idp.token("ana@example.com", ["supervisor", "Domain Users"])
    principal = await check.verify(token)
    assert principal.subject == "ana@example.com"
    assert principal.roles == {Role.SUPERVISOR} and principal.via is CredentialKind.JWT


async def test_subject_and_roles_come_from_the_configured_claims(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    check, _ = verifier(
        idp, http, oidc_roles_claim="realm_access.roles", oidc_subject_claim="email"
    )
    token = idp.token(
        "f81d4fae", roles=[], email="ana@example.com", realm_access={"roles": ["auditor"]}
    )
    principal = await check.verify(token)
    assert (principal.subject, principal.roles) == ("ana@example.com", {Role.AUDITOR})
    with pytest.raises(CredentialRejected, match="'email'"):
        await check.verify(idp.token("f81d4fae", ["auditor"]))


TIME_CLAIMS = ("exp", "nbf", "iat")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"iat": 600}, "not valid yet"),
        ({"iss": "https://elsewhere.example"}, "issuer"),
        ({"aud": "another-api"}, "audience"),
        ({"exp": None}, "'exp'"),
        ({"aud": None}, "'aud'"),
    ],
)
async def test_time_issuer_and_audience_are_checked(
    idp: LoopbackIdP, http: httpx.AsyncClient, claims: dict[str, Any], reason: str
) -> None:
    """Time claims are given as seconds from when the test runs (not from collection, which
    may be many minutes earlier in a long suite)."""
    now = int(time.time())
    claims = {
        key: now + value if key in TIME_CLAIMS and isinstance(value, int) else value
        for key, value in claims.items()
    }
    check, _ = verifier(idp, http)
    with pytest.raises(CredentialRejected, match=reason):
        await check.verify(idp.token("ana", ["operator"], **claims))


async def test_leeway_tolerates_small_clock_skew(idp: LoopbackIdP, http: httpx.AsyncClient) -> None:
    check, _ = verifier(idp, http, oidc_leeway_seconds=60)
    principal = await check.verify(idp.token("ana", ["operator"], exp=int(time.time()) - 10))
    assert principal.subject == "ana"


async def test_unsigned_and_shared_secret_tokens_are_refused(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    check, _ = verifier(idp, http)
    claims: dict[str, Any] = {
        "iss": idp.settings().oidc_issuer,
        "aud": "warmline-api",
        "sub": "eve",
        "exp": int(time.time()) + 300,
        "roles": ["admin"],
    }
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": idp.keys[0].kid})
    with pytest.raises(CredentialRejected, match="'none' is not accepted"):
        await check.verify(unsigned)
    # The classic confusion: HS256 keyed with the RSA public key an attacker can download.
    public_modulus = idp.keys[0].public_jwk()["n"].encode()
    forged = _hs256(claims, public_modulus, idp.keys[0].kid)
    with pytest.raises(CredentialRejected, match="'HS256' is not accepted"):
        await check.verify(forged)
    # Even an allow-listed alg must match the key the kid names.
    ec_signed = idp.token("eve", ["admin"], key=ec_key(idp.keys[0].kid))
    with pytest.raises(CredentialRejected, match="does not match"):
        await check.verify(ec_signed)


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 token built by hand (PyJWT refuses PEM-looking HMAC secrets, attackers do not)."""
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


async def test_a_tampered_token_or_a_foreign_key_fails_the_signature(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    check, _ = verifier(idp, http)
    header, body, signature = idp.token("ana", ["operator"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["roles"] = ["admin"]
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialRejected, match="signature"):
        await check.verify(f"{header}.{raised}.{signature}")
    impostor = rsa_key(idp.keys[0].kid)  # same kid, a key the IdP never published
    with pytest.raises(CredentialRejected, match="signature"):
        await check.verify(idp.token("ana", ["admin"], key=impostor))
    with pytest.raises(CredentialRejected, match="malformed"):
        await check.verify("not-a-jwt")


async def test_keys_are_cached_and_an_unknown_kid_refreshes_at_most_once_per_interval(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    check, jwks = verifier(idp, http, clock, oidc_jwks_refresh_seconds=30)
    for _ in range(3):
        await check.verify(idp.token("ana", ["operator"]))
    assert jwks.fetches == idp.requests == 1

    # The IdP rotates: a token under the new kid triggers one refetch, then verifies.
    rotated = rsa_key()
    idp.publish([rotated, *idp.keys])
    clock.now += 31
    assert (await check.verify(idp.token("ana", ["operator"], key=rotated))).subject == "ana"
    assert idp.requests == 2

    # Made-up kids do not turn into a fetch each: one per refresh interval.
    for n in range(5):
        with pytest.raises(CredentialRejected, match="no signing key"):
            await check.verify(idp.token("eve", ["admin"], key=rsa_key(f"bogus-{n}")))
    assert idp.requests == 2
    clock.now += 31
    with pytest.raises(CredentialRejected, match="no signing key"):
        await check.verify(idp.token("eve", ["admin"], key=rsa_key("bogus-late")))
    assert idp.requests == 3


async def test_a_token_header_cannot_choose_where_keys_come_from(
    idp: LoopbackIdP, http: httpx.AsyncClient
) -> None:
    check, _ = verifier(idp, http)
    attacker = rsa_key("attacker")
    token = idp.token(
        "eve", ["admin"], key=attacker, headers={"jku": "http://127.0.0.1:9/jwks.json"}
    )
    with pytest.raises(CredentialRejected, match="no signing key with kid 'attacker'"):
        await check.verify(token)


async def test_an_unreachable_idp_is_reported_as_such(http: httpx.AsyncClient) -> None:
    idp = LoopbackIdP(jwks_url="http://127.0.0.1:9/jwks.json")
    check, _ = verifier(idp, http)
    with pytest.raises(IdentityProviderUnavailable, match="could not fetch"):
        await check.verify(idp.token("ana", ["operator"]))

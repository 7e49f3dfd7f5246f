"""OIDC bearer tokens: signature checked against the issuer's JWKS, then issuer, audience, time.

PyJWT verifies; this module decides which key it verifies with. The JWKS URL comes only from
settings (a token's ``jku``/``x5u`` headers are never followed, so no token chooses where the
API fetches keys), keys are cached for ``oidc_jwks_cache_seconds``, and a token naming an
unknown ``kid`` (the IdP rotated its keys) refetches the set, at most once per
``oidc_jwks_refresh_seconds`` so a stream of made-up kids cannot turn the API into a load
generator against the IdP. Fetches are async with a timeout: a slow IdP delays a login by at most
``JWKS_FETCH_TIMEOUT_SECONDS``, it never blocks the event loop.

Only asymmetric algorithms from the allow-list are accepted, the token's ``alg`` must be the
key's (a JWK that names its ``alg``), and shared-secret (``oct``) keys are refused, which closes
the classic "verify an HS256 token with the RSA public key as the secret" confusion.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

from models.access import MAX_SUBJECT_CHARS, CredentialKind, Principal
from runtime.settings import Settings
from warmline.access import claim_at, roles_from_claim

JWKS_FETCH_TIMEOUT_SECONDS = 5.0


class CredentialRejected(Exception):
    """A credential that does not authenticate; the message is the reason shown to the caller."""


class IdentityProviderUnavailable(Exception):
    """The issuer's keys could not be fetched: no token can be checked until they can."""


class JwksCache:
    """The issuer's signing keys by ``kid``, refreshed on expiry and on an unknown kid."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_seconds: float,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._ttl = ttl_seconds
        self._refresh = refresh_seconds
        self._clock = clock
        self._keys: list[Mapping[str, Any]] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        """The key that verifies a token signed with ``alg`` under ``kid``."""
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl:
            await self._fetch(self._fetched_at)
        found = self._match(kid)
        if found is None and self._clock() - (self._fetched_at or 0.0) >= self._refresh:
            await self._fetch(self._fetched_at)
            found = self._match(kid)
        if found is None:
            raise CredentialRejected(
                f"no signing key with kid {kid!r} in the issuer's JWKS"
                if kid is not None
                else "token has no kid and the issuer's JWKS holds more than one key"
            )
        return _verifying_key(found, alg)

    def _match(self, kid: str | None) -> Mapping[str, Any] | None:
        signing = [k for k in self._keys if k.get("use") in (None, "sig")]
        if kid is None:
            return signing[0] if len(signing) == 1 else None
        return next((k for k in signing if k.get("kid") == kid), None)

    async def _fetch(self, seen: float | None) -> None:
        async with self._lock:
            if self._fetched_at != seen:  # another request refreshed while this one waited
                return
            try:
                response = await self._http.get(self._url, timeout=JWKS_FETCH_TIMEOUT_SECONDS)
                response.raise_for_status()
                keys = response.json()["keys"]
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise IdentityProviderUnavailable(
                    f"could not fetch the issuer's signing keys from {self._url}: {exc}"
                ) from None
            if not isinstance(keys, list):
                raise IdentityProviderUnavailable(f"{self._url} holds no JWKS 'keys' list")
            self._keys = [k for k in keys if isinstance(k, Mapping)]
            self._fetched_at = self._clock()
            self.fetches += 1


def _verifying_key(jwk: Mapping[str, Any], alg: str) -> jwt.PyJWK:
    kid = jwk.get("kid")
    if jwk.get("kty") == "oct":
        raise CredentialRejected(f"key {kid!r} is a shared secret; only public keys verify")
    if jwk.get("alg") not in (None, alg):
        raise CredentialRejected(f"token alg {alg} does not match key {kid!r} ({jwk['alg']})")
    try:
        return jwt.PyJWK(dict(jwk), algorithm=alg)
    except jwt.PyJWTError as exc:
        raise CredentialRejected(f"key {kid!r} cannot verify {alg}: {exc}") from None


_REASONS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token is not valid yet (nbf/iat in the future)"),
    (jwt.InvalidAudienceError, "token audience is not this API"),
    (jwt.InvalidIssuerError, "token issuer is not the configured issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
]


class JwtVerifier:
    """Turns a bearer JWT into a ``Principal``, or says why not."""

    def __init__(self, settings: Settings, jwks: JwksCache) -> None:
        assert settings.oidc_issuer and settings.oidc_audience
        self._issuer = settings.oidc_issuer
        self._audience = settings.oidc_audience
        self._algorithms = list(settings.oidc_algorithms)
        self._leeway = settings.oidc_leeway_seconds
        self._roles_claim = settings.oidc_roles_claim
        self._subject_claim = settings.oidc_subject_claim
        self._jwks = jwks

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise CredentialRejected(
                "malformed bearer token: neither a JWT nor an API key"
            ) from None
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise CredentialRejected(
                f"token algorithm {alg!r} is not accepted (allowed: {', '.join(self._algorithms)})"
            )
        kid = header.get("kid")
        key = await self._jwks.key(kid if isinstance(kid, str) else None, alg)
        claims = self._decode(token, key, alg)
        subject = claim_at(claims, self._subject_claim)
        if not isinstance(subject, str) or not subject.strip():
            raise CredentialRejected(f"token has no {self._subject_claim!r} claim to act as")
        if len(subject) > MAX_SUBJECT_CHARS:
            raise CredentialRejected(f"token {self._subject_claim!r} claim is too long")
        roles, _ = roles_from_claim(claim_at(claims, self._roles_claim))
        return Principal(subject=subject.strip(), roles=roles, via=CredentialKind.JWT)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise CredentialRejected(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), None)
            raise CredentialRejected(reason or f"invalid token: {exc}") from None

"""A test identity provider: signing keys, a JWKS served over loopback, and token minting.

No external identity provider can run on the test machines, so the tests play the IdP
themselves: an RSA (and an EC) key pair made per test, the public half published as a JWKS by a
real HTTP server on 127.0.0.1, tokens signed with the private half. The API under test fetches
that JWKS over HTTP exactly as it would fetch Keycloak's or Entra ID's.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.app import create_api_app
from models.access import Role
from runtime.settings import Settings
from simulators.server import serve_app
from store.api_keys import ApiKeyStore
from store.repository import Store

ISSUER = "https://idp.test.example"
AUDIENCE = "warmline-api"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        document = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**document, "kid": self.kid, "alg": self.alg, "use": "sig"}


def rsa_key(kid: str | None = None) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", private)


def ec_key(kid: str | None = None) -> SigningKey:
    return SigningKey(
        kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1())
    )


@dataclass
class LoopbackIdP:
    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key()])
    jwks_url: str = ""
    requests: int = 0

    def publish(self, keys: Iterable[SigningKey]) -> None:
        """Replace the published key set (key rotation at the IdP)."""
        self.keys = list(keys)

    def token(
        self,
        subject: str | None,
        roles: Iterable[Role | str] = (),
        *,
        key: SigningKey | None = None,
        lifetime: float = 300.0,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token; ``claims`` override the defaults (None removes one)."""
        signer = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + int(lifetime),
            "roles": [str(role) for role in roles],
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        header = {"kid": signer.kid, **(headers or {})}
        return jwt.encode(body, signer.private, algorithm=signer.alg, headers=header)

    def settings(self, **overrides: Any) -> Settings:
        """Settings of an API that trusts this IdP."""
        return Settings(
            oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=self.jwks_url, **overrides
        )


@contextlib.asynccontextmanager
async def serve_idp(idp: LoopbackIdP | None = None) -> AsyncIterator[LoopbackIdP]:
    """Publish ``idp``'s keys at ``<loopback>/jwks.json`` for as long as the block runs."""
    served = idp or LoopbackIdP()

    async def jwks(_: Request) -> JSONResponse:
        served.requests += 1
        return JSONResponse({"keys": [key.public_jwk() for key in served.keys]})

    async with serve_app(Starlette(routes=[Route("/jwks.json", jwks)])) as url:
        served.jwks_url = f"{url}/jwks.json"
        yield served


@contextlib.asynccontextmanager
async def serve_api(store: Store, settings: Settings, **options: Any) -> AsyncIterator[str]:
    """The real API app on a loopback port; yields its base URL."""
    async with serve_app(create_api_app(store, settings, **options)) as url:
        yield url


def api_key(store: Store, settings: Settings, name: str, *roles: Role) -> str:
    """A fresh API key for ``name`` with ``roles``, issued straight into the store."""
    from models.access import ApiKeyRequest
    from runtime.api_key_secret import api_key_secret

    issued = ApiKeyStore(store).issue(
        ApiKeyRequest(name=name, roles=list(roles)), "tests", api_key_secret(settings)
    )
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

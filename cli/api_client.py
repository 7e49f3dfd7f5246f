"""How the human-facing commands reach Warmline: the API, with a bearer token.

``warmline supervise | canary | rollback | fleet | config | access`` need no database URL and no
payload key ring, only ``WARMLINE_API_URL`` (default ``http://127.0.0.1:<api_port>``) and a token:
``--token`` (before the sub-command), else ``WARMLINE_API_TOKEN`` (an OIDC access token from your
identity provider, or a Warmline API key), else, when the API is on this machine's loopback, the
embedded stack's own key in ``<data_dir>/api-token`` (what ``warmline dev`` mints). That file is
never sent anywhere else: a dev token must not leak to a remote API.

Refusals print the API's reason; a 409 (the registry or the review cap refused) exits 2, every
other failure 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import httpx
import typer
from rich.console import Console

from runtime.api_key_secret import local_token_path
from runtime.settings import LOOPBACK_HOSTS, Settings, load_settings

T = TypeVar("T")
console = Console()
REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
"""Longer than the API's longest bounded wait (a workflow result, 30 s)."""
RESULT_POLL_SECONDS = 20.0

_token_override: list[str] = []


def use_token(token: str | None) -> None:
    """The root ``--token`` option: wins over settings and the local token file."""
    _token_override[:] = [token] if token else []


class ApiRefusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def resolve_token(settings: Settings) -> str:
    if _token_override:
        return _token_override[0]
    configured = settings.api_token.get_secret_value().strip() if settings.api_token else ""
    if configured:  # an empty WARMLINE_API_TOKEN= counts as unset
        return configured
    local = local_token_path(settings)
    if urlsplit(settings.resolved_api_url).hostname in LOOPBACK_HOSTS and local.exists():
        return local.read_text().strip()
    raise ApiRefusal(
        401,
        "no API token: set WARMLINE_API_TOKEN or pass --token (an OIDC access token from your "
        "identity provider, or a Warmline API key)",
    )


class WarmlineApi:
    """A small synchronous client: one request per command, errors as ``ApiRefusal``."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
            follow_redirects=False,
        )

    def request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as exc:
            raise ApiRefusal(
                503,
                f"cannot reach the Warmline API at {self.base_url} ({exc}); is `warmline api` "
                "(or `warmline dev`) running, and WARMLINE_API_URL right?",
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            reason = str(response.json().get("error", response.text))
        except ValueError:
            reason = response.text or response.reason_phrase
        raise ApiRefusal(response.status_code, reason)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_present(params))

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request(
            "POST", path, json=body if body is not None else {}, params=_present(params)
        )

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def wait_result(self, path: str, **params: Any) -> dict[str, Any]:
        """Poll a ``.../result`` route until the workflow has ended; its result."""
        while True:
            outcome = self.get(path, wait_seconds=RESULT_POLL_SECONDS, **params)
            if outcome["done"]:
                result: dict[str, Any] = outcome["result"]
                return result

    def close(self) -> None:
        self._http.close()


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def fail(refusal: ApiRefusal) -> NoReturn:
    console.print(f"[red]{refusal.reason}[/red]")
    raise typer.Exit(2 if refusal.status == 409 else 1)


def call(work: Callable[[WarmlineApi], T]) -> T:
    """Run ``work`` against the configured API; a refusal prints its reason and exits."""
    settings = load_settings()
    try:
        api = WarmlineApi(settings.resolved_api_url, resolve_token(settings))
    except ApiRefusal as refusal:
        fail(refusal)
    try:
        return work(api)
    except ApiRefusal as refusal:
        fail(refusal)
    finally:
        api.close()

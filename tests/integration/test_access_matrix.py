"""Every route x every role over real HTTP: each role can do exactly what it should.

The API runs as in production (FastAPI under uvicorn on loopback) with a real store and the
session's real Temporal dev server. Each role calls every route with a token from a JWKS this
test serves itself (no external identity provider can run here); so do a credential with no
Warmline role and a caller with no credential at all.

``SPEC`` is written out by hand, route by route: it is the specification, not a copy of
``warmline.access.ROLE_PERMISSIONS``. A role the spec allows must get past authorization to the
route's own answer (the listed statuses: 2xx, or the 404/409 of a workflow that does not exist
or already runs); any other role must get 403 naming the route's permission; no credential gets
401. A route the spec does not list fails the test, so a new route cannot ship unspecified.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from api.app import create_api_app
from api.auth import route_permissions
from models.access import Role
from runtime.settings import Settings
from tests.audit_keys import open_test_store
from tests.identity import LoopbackIdP, bearer, serve_api, serve_idp
from warmline.default_config import default_routing_config

pytestmark = pytest.mark.integration

IC, SUP, RM, AUD, WFM, OPS, ADM = (
    Role.INTERACTION_CLIENT,
    Role.SUPERVISOR,
    Role.RELEASE_MANAGER,
    Role.AUDITOR,
    Role.WFM_READER,
    Role.OPERATOR,
    Role.ADMIN,
)
EVERYONE = frozenset(Role)
RUN = uuid.uuid4().hex[:8]
AGENT = f"matrix-{RUN}"  # rollouts started here name an agent nobody else uses
NOPE = f"absent-{RUN}"  # ... and reads ask about one that does not exist


def _payloads() -> dict[str, Any]:
    data = base64.b64encode(json.dumps({"text": "hi"}).encode()).decode()
    encoding = base64.b64encode(b"json/plain").decode()
    return {"payloads": [{"metadata": {"encoding": encoding}, "data": data}]}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    route: str
    allowed: frozenset[Role]
    ok: frozenset[int]
    body: Any = None
    params: dict[str, Any] = field(default_factory=dict)


def call(
    method: str,
    path: str,
    allowed: set[Role] | frozenset[Role],
    ok: set[int],
    body: Any = None,
    *,
    route: str | None = None,
    **params: Any,
) -> Call:
    return Call(method, path, route or path, frozenset(allowed), frozenset(ok), body, params)


DAY_START = "2026-01-05T00:00:00+00:00"
DAY_END = "2026-01-06T00:00:00+00:00"


def spec() -> list[Call]:
    readers = {RM, AUD, OPS, ADM}
    rollout = {RM}
    phases = {SUP, RM, AUD, OPS, ADM}
    wfm = {AUD, WFM, OPS, ADM}
    return [
        # Temporal codec: clients seal, only supervisors and auditors open.
        call("POST", "/codec/encode", {IC, SUP, RM, OPS}, {200}, _payloads()),
        call("POST", "/codec/decode", {SUP, AUD}, {200}, _payloads()),
        call("GET", "/metrics", {AUD, WFM, OPS}, {200}),
        call("GET", "/v1/wfm/summary", wfm, {200}),
        call("GET", "/v1/wfm/intervals", wfm, {200}, start=DAY_START, end=DAY_END),
        call("GET", "/v1/wfm/capacity", wfm, {200}),
        call("GET", "/v1/wfm/containment", wfm, {200}, granularity="hour",
             start=DAY_START, end=DAY_END),
        call("GET", "/v1/wfm/plan-vs-actual", wfm, {200}, start=DAY_START, end=DAY_END),
        call("GET", "/v1/wfm/intraday", wfm, {200}),
        # The WFM platform's service account pushes planned capacity (schedule sync).
        call("PUT", "/v1/wfm/plan", {WFM, OPS}, {200},
             {"interval_minutes": 15, "intervals": [
                 {"interval_start": DAY_START, "queue": "general", "planned_agents": 4}]}),
        call("POST", "/v1/wfm/plan.csv", {WFM, OPS}, {200, 422}, interval=15),
        call("GET", "/v1/supervision/volume", wfm, {200}),
        # Routing config: read widely, changed by operators only.
        call("GET", "/v1/routing-config", readers, {200}),
        call("GET", "/v1/routing-config/versions", readers, {200}),
        call("GET", "/v1/routing-config/versions/1", readers, {200},
             route="/v1/routing-config/versions/{version}"),
        call("POST", "/v1/routing-config", {OPS}, {201},
             default_routing_config("http://127.0.0.1:9").model_dump(mode="json")),
        # Routing proposals (calibration from outcomes): read like the config, decided and
        # run by operators; a proposal that does not exist is the route's own 404.
        call("GET", "/v1/routing-proposals", readers, {200}),
        call("GET", "/v1/routing-proposals/999999", readers, {404},
             route="/v1/routing-proposals/{proposal_id}"),
        call("POST", "/v1/routing-proposals/999999/approve", {OPS}, {404}, {"note": "m"},
             route="/v1/routing-proposals/{proposal_id}/approve"),
        call("POST", "/v1/routing-proposals/999999/reject", {OPS}, {404}, {"note": "m"},
             route="/v1/routing-proposals/{proposal_id}/reject"),
        call("POST", "/v1/routing-proposals/runs", {OPS}, {201, 409}, {}),
        # Model registry: release managers and operators change it.
        call("GET", "/v1/fleet/registry", readers, {200}),
        call("GET", "/v1/fleet/shadow-report", readers, {200}, endpoint=f"{NOPE}:1"),
        call("POST", "/v1/fleet/versions", {RM, OPS}, {201},
             {"agent": "care-bot", "version": f"{RUN}.1"}),
        call("POST", "/v1/fleet/health/reset", {RM, OPS}, {200}, {"reason": "matrix"}),
        call("POST", "/v1/fleet/changes", {RM, OPS}, {200},
             {"changes": [{"op": "set_weight", "agent": "care-bot", "version": "2026.10",
                           "weight": 1}]}),
        # Canary rollouts and A/B tests: release managers steer, readers watch.
        call("POST", "/v1/canaries", rollout, {201, 409},
             {"agent": AGENT, "canary_version": "v2"}),
        call("GET", f"/v1/canaries/{NOPE}", readers, {404}, route="/v1/canaries/{agent}"),
        call("GET", f"/v1/canaries/{NOPE}/result", readers, {404},
             route="/v1/canaries/{agent}/result"),
        *(
            call("POST", f"/v1/canaries/{NOPE}/{command}", rollout, {404}, {"reason": "m"},
                 route=f"/v1/canaries/{{agent}}/{command}")
            for command in ("pause", "resume", "abort", "promote-now")
        ),
        call("POST", "/v1/ab-tests", rollout, {201, 409},
             {"agent": AGENT, "versions": ["v1", "v2"]}),
        call("GET", f"/v1/ab-tests/{NOPE}", readers, {404}, route="/v1/ab-tests/{agent}"),
        call("POST", f"/v1/ab-tests/{NOPE}/stop", rollout, {404}, {},
             route="/v1/ab-tests/{agent}/stop"),
        # Rollbacks: release managers and operators.
        call("POST", "/v1/rollbacks", {RM, OPS}, {201, 409},
             {"mode": "failover_to_human", "agents": [AGENT]}),
        call("GET", "/v1/rollbacks/status", readers, {404}, agent=NOPE),
        call("GET", "/v1/rollbacks/result", readers, {404}, agent=NOPE),
        # Reviews: supervisors only (they read the transcript and decide).
        call("GET", "/v1/reviews", {SUP}, {200}),
        call("GET", "/v1/reviews/held", {SUP}, {200}),
        call("POST", f"/v1/reviews/{NOPE}/claim", {SUP}, {404}, {},
             route="/v1/reviews/{target}/claim"),
        call("POST", f"/v1/reviews/{NOPE}/release", {SUP}, {200},
             route="/v1/reviews/{target}/release"),
        call("POST", f"/v1/reviews/{NOPE}/decision", {SUP}, {404}, {"decision": "approve"},
             route="/v1/reviews/{target}/decision"),
        call("GET", f"/v1/interactions/{NOPE}/status", {SUP}, {404},
             route="/v1/interactions/{target}/status"),
        call("POST", "/v1/qa-reviews", {SUP}, {409},
             {"interaction_id": NOPE, "resolved_correctly": True}),
        # Supervision phases: release managers start and sign off; supervisors cannot.
        call("POST", "/v1/supervision/phases", rollout, {201}, {"intent": AGENT}),
        call("GET", f"/v1/supervision/phases/{NOPE}", phases, {404},
             route="/v1/supervision/phases/{intent}"),
        call("POST", f"/v1/supervision/phases/{NOPE}/sign-off", rollout, {404},
             {"decision": "approve"}, route="/v1/supervision/phases/{intent}/sign-off"),
        call("POST", f"/v1/supervision/phases/{NOPE}/new-model", rollout, {404},
             {"version": "v9"}, route="/v1/supervision/phases/{intent}/new-model"),
        # Audit exports: auditors only (a decrypted history; audited as a privileged read).
        call("GET", f"/v1/audit/interactions/{NOPE}", {AUD}, {404}, history="false",
             route="/v1/audit/interactions/{interaction_id}"),
        # Retention: admins decide what may go, auditors what must stay; both read.
        call("GET", "/v1/retention/policy", {AUD, ADM}, {200}),
        call("POST", "/v1/retention/policy", {ADM}, {201},
             {"rules": [{"data_class": "facts", "keep_days": 3650}]}),
        call("GET", "/v1/retention/plan", {AUD, ADM}, {200}),
        call("GET", "/v1/retention/holds", {AUD, ADM}, {200}),
        call("POST", "/v1/retention/holds", {AUD}, {201},
             {"interaction_id": NOPE, "reason": "matrix"}),
        call("POST", "/v1/retention/holds/999999/release", {AUD}, {404},
             route="/v1/retention/holds/{hold_id}/release"),
        # The session's dev server has no retention Schedule (404); a cluster's would run.
        call("POST", "/v1/retention/runs", {ADM}, {202, 404}),
        # Access administration: admins only; anyone may ask who they are.
        call("POST", "/v1/access/keys", {ADM}, {201}, {"name": "matrix", "roles": ["auditor"]}),
        call("GET", "/v1/access/keys", {ADM}, {200}),
        call("DELETE", "/v1/access/keys/ffffffffffff", {ADM}, {404},
             route="/v1/access/keys/{key_id}"),
        call("GET", "/v1/access/whoami", EVERYONE, {200}),
    ]  # fmt: skip


@dataclass
class MatrixApi:
    http: httpx.AsyncClient
    idp: LoopbackIdP
    app_routes: dict[tuple[str, str], Any]


@pytest.fixture
async def matrix_api(tmp_path: Path, temporal_client: Client) -> AsyncIterator[MatrixApi]:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    store.save_routing_config(default_routing_config("http://127.0.0.1:9"), "seed")
    async with serve_idp() as idp:
        settings = idp.settings(data_dir=tmp_path)
        routes = route_permissions(create_api_app(store, settings))
        async with (
            serve_api(store, settings, temporal=temporal_client) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            yield MatrixApi(http, idp, routes)
    for workflow_id in (f"canary-{AGENT}", f"abtest-{AGENT}", f"rollback-{AGENT}",
                        f"supervision-phase-{AGENT}"):  # fmt: skip
        with contextlib.suppress(RPCError):
            await temporal_client.get_workflow_handle(workflow_id).terminate("matrix test over")
    store.close()


def test_the_spec_names_every_route_once(tmp_path: Path) -> None:
    """Checked without servers, so a route added without a spec line fails fast."""
    keys = [(c.method, c.route) for c in spec()]
    assert len(keys) == len(set(keys)), "a route is specified twice"
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    routes = route_permissions(create_api_app(store, Settings(data_dir=tmp_path)))
    store.close()
    assert set(keys) == set(routes)


async def test_every_role_can_do_exactly_what_it_should(matrix_api: MatrixApi) -> None:
    http, idp = matrix_api.http, matrix_api.idp
    callers: dict[str, dict[str, str]] = {
        role.value: bearer(idp.token(f"{role.value}@example.com", [role])) for role in Role
    }
    callers["no-role"] = bearer(idp.token("guest@example.com", ["Domain Users"]))
    callers["anonymous"] = {}
    failures: list[str] = []
    for spec_call in spec():
        permission = matrix_api.app_routes[(spec_call.method, spec_call.route)]
        for name, headers in callers.items():
            response = await http.request(
                spec_call.method,
                spec_call.path,
                json=spec_call.body,
                params=spec_call.params,
                headers=headers,
            )
            role = Role(name) if name in Role._value2member_map_ else None
            reason = _reason(response)
            if name == "anonymous":
                expected_ok = response.status_code == 401 and "missing credential" in reason
            elif role in spec_call.allowed or (spec_call.allowed == EVERYONE and role is None):
                expected_ok = response.status_code in spec_call.ok
            else:
                expected_ok = response.status_code == 403 and (
                    permission is not None and f"permission '{permission.value}'" in reason
                )
            if not expected_ok:
                failures.append(
                    f"{spec_call.method} {spec_call.path} as {name}: "
                    f"{response.status_code} {reason[:160]}"
                )
    assert not failures, "\n".join(failures)


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return response.text

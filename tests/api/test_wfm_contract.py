"""The WFM API against its own OpenAPI document (schemathesis): generated requests, including
hostile ones, get documented status codes and responses that match the schema; never a 500.

Requests go through Starlette's (httpx) test client and schemathesis validates the responses:
its own requests-based transport trips over the ``urllib3-future`` package another dependency
installs in the shared environment.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from starlette.testclient import TestClient

from api.app import create_api_app
from models.access import Role
from runtime.settings import Settings
from store.intervals import IntervalStore
from tests.audit_keys import open_test_store
from tests.identity import api_key, bearer
from tests.store.builders import make_record


def _app() -> tuple[Any, dict[str, str]]:
    """The whole API (authentication included) over a store with a day of facts, and the
    credential of a WFM platform's service account (reads and pushes the plan)."""
    folder = Path(tempfile.mkdtemp(prefix="wfm-contract-"))
    store = open_test_store(f"sqlite:///{folder / 'warmline.db'}")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    store.record_interactions(
        [
            make_record(
                f"c-{n}",
                events=0,
                started_at=(day + timedelta(minutes=7 * n)).isoformat(),
                pool=("ai_contained", "ai_assisted", "human_only")[n % 3],
                queue="billing",
                human_seconds=120.0,
            )
            for n in range(30)
        ]
    )
    IntervalStore(store.engine).init_schema()
    IntervalStore(store.engine).rollup(15)
    settings = Settings(data_dir=folder)
    token = api_key(store, settings, "wfm-platform", Role.WFM_READER)
    return create_api_app(store, settings), bearer(token)


APP, WFM_PLATFORM = _app()
# The WFM routes of the API's one OpenAPI document.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(path_regex="^/v1/wfm/")
CLIENT = TestClient(APP)


def send(case: schemathesis.Case) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=WFM_PLATFORM)
    body = kwargs.pop("data", None)
    request: dict[str, Any] = {
        key: kwargs[key] for key in ("method", "url", "headers", "params", "json") if key in kwargs
    }
    if body is not None:
        request["content"] = body
    return CLIENT.request(**request)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_contract(case: schemathesis.Case) -> None:
    # Every check but "schema-valid requests are accepted": ranges are checked across fields
    # (end after start, at most 31 days) and dates for existence (no month 13), which a schema
    # cannot express; those answer 400 with the reason, as documented. And "invalid
    # authentication is refused": every request here carries the service account's credential
    # (authentication of every route x role is tests/integration/test_access_matrix.py's).
    case.validate_response(send(case), excluded_checks=[positive_data_acceptance, ignored_auth])

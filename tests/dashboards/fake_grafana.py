"""A stand-in for Grafana's HTTP API, just large enough for ``dashboards.push``.

Grafana cannot run on the test machines (no container engine, no Grafana binary), so this small
Starlette app answers the endpoints grafana-client calls during a push and records what it
received. It keeps Grafana's observable rules that matter to the push logic: folders are
unique by title, a dashboard is identified by its uid, saving an existing uid without
``overwrite`` is refused, and every request must carry the expected credentials.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass
class GrafanaState:
    """What the fake holds; tests read it to assert the push."""

    token: str | None = None
    basic_auth: tuple[str, str] | None = None
    folders: list[dict[str, Any]] = field(default_factory=list)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    folder_posts: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)

    def authorized(self, header: str | None) -> bool:
        if self.token is not None and header == f"Bearer {self.token}":
            return True
        if self.basic_auth is not None and header is not None and header.startswith("Basic "):
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
            return tuple(decoded.split(":", 1)) == self.basic_auth
        return False


def build_app(state: GrafanaState) -> Starlette:
    def unauthorized() -> JSONResponse:
        return JSONResponse({"message": "Unauthorized"}, status_code=401)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"database": "ok", "version": "fake"})

    async def list_folders(request: Request) -> JSONResponse:
        state.requests.append(("GET", "/api/folders"))
        if not state.authorized(request.headers.get("authorization")):
            return unauthorized()
        return JSONResponse(state.folders)

    async def create_folder(request: Request) -> JSONResponse:
        state.requests.append(("POST", "/api/folders"))
        if not state.authorized(request.headers.get("authorization")):
            return unauthorized()
        body = await request.json()
        title = body.get("title")
        if not title:
            return JSONResponse({"message": "folder title cannot be empty"}, status_code=400)
        if any(f["title"] == title for f in state.folders):
            return JSONResponse(
                {"message": "a folder with the same name already exists"}, status_code=409
            )
        state.folder_posts += 1
        folder = {
            "id": len(state.folders) + 1,
            "uid": body.get("uid") or f"fld{len(state.folders) + 1}",
            "title": title,
        }
        state.folders.append(folder)
        return JSONResponse(folder)

    async def save_dashboard(request: Request) -> JSONResponse:
        state.requests.append(("POST", "/api/dashboards/db"))
        if not state.authorized(request.headers.get("authorization")):
            return unauthorized()
        body = await request.json()
        model = body.get("dashboard") or {}
        uid, title = model.get("uid"), model.get("title")
        if not uid or not title:
            return JSONResponse({"message": "dashboard uid and title required"}, status_code=400)
        folder_uid = body.get("folderUid")
        if folder_uid and not any(f["uid"] == folder_uid for f in state.folders):
            return JSONResponse({"message": "folder not found"}, status_code=400)
        if uid in state.dashboards and not body.get("overwrite"):
            return JSONResponse(
                {"status": "version-mismatch", "message": "dashboard exists"}, status_code=412
            )
        version = state.versions.get(uid, 0) + 1
        state.versions[uid] = version
        state.dashboards[uid] = {"dashboard": model, "folderUid": folder_uid}
        return JSONResponse(
            {
                "id": list(state.dashboards).index(uid) + 1,
                "uid": uid,
                "url": f"/d/{uid}/x",
                "status": "success",
                "version": version,
                "slug": "x",
            }
        )

    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/api/folders", list_folders, methods=["GET"]),
            Route("/api/folders", create_folder, methods=["POST"]),
            Route("/api/dashboards/db", save_dashboard, methods=["POST"]),
        ]
    )


@asynccontextmanager
async def serve_fake_grafana(state: GrafanaState) -> AsyncIterator[str]:
    """Run the fake on 127.0.0.1 (ephemeral port) inside the current event loop; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(state), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while not server.started:
                if task.done():
                    task.result()  # surface the startup error
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()

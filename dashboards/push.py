"""Publish the Warmline dashboards: upload them to Grafana, or export them as files.

Two delivery paths, one source of truth (``dashboards.definitions``):

- ``push_dashboards`` talks to a running Grafana's HTTP API (grafana-client): it creates the
  folder if it is missing and upserts every dashboard by its stable uid, so running it again
  after an upgrade replaces the old versions instead of adding copies.
- ``export_dashboards`` writes one JSON file per dashboard for Grafana's file provisioning
  (``docker/grafana/dashboards``). The files are committed so the compose stack works offline;
  a test fails when they no longer match the code.

Do not use both paths on the same Grafana: a provisioned dashboard cannot be overwritten
through the API.

Usage::

    python -m dashboards.push --export docker/grafana/dashboards
    GRAFANA_TOKEN=... python -m dashboards.push --url https://grafana.example.com
    GRAFANA_USER=admin GRAFANA_PASSWORD=... python -m dashboards.push --url http://localhost:3000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from grafana_client import GrafanaApi

from dashboards.builder import JSON
from dashboards.definitions import all_dashboards

DEFAULT_FOLDER: Final = "Warmline"
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
PUSH_MESSAGE: Final = "Published by warmline dashboards push"


@dataclass(frozen=True)
class PushedDashboard:
    """What Grafana answered for one upload (its url is relative to the Grafana root)."""

    uid: str
    title: str
    url: str
    version: int


def _grafana(
    url: str, token: str | None, basic_auth: tuple[str, str] | None, timeout: float
) -> GrafanaApi:
    if token and basic_auth:
        raise ValueError("give either a token or basic auth, not both")
    credential: str | tuple[str, str] | None = token or basic_auth
    return GrafanaApi.from_url(url, credential=credential, timeout=timeout)


def ensure_folder(grafana: GrafanaApi, title: str) -> str:
    """Uid of the folder called ``title``, created if it does not exist yet.

    Matched by title rather than by a fixed uid so that a folder an operator already made
    (or one created by provisioning) is reused instead of duplicated.
    """
    folders: list[dict[str, Any]] = grafana.folder.get_all_folders()
    for folder in folders:
        if folder.get("title") == title:
            return str(folder["uid"])
    created: dict[str, Any] = grafana.folder.create_folder(title)
    return str(created["uid"])


def push_dashboards(
    url: str,
    *,
    token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    folder: str = DEFAULT_FOLDER,
    dashboards: Sequence[JSON] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> list[PushedDashboard]:
    """Create ``folder`` if missing and upsert every dashboard into it.

    ``url`` may carry ``user:password@`` itself; otherwise pass a service-account ``token`` or
    ``basic_auth``. Grafana errors (bad credentials, missing permissions) propagate as
    grafana-client exceptions: a half-published set must be noticed, not logged and ignored.
    """
    grafana = _grafana(url, token, basic_auth, timeout)
    folder_uid = ensure_folder(grafana, folder)
    pushed: list[PushedDashboard] = []
    for model in all_dashboards() if dashboards is None else dashboards:
        answer: dict[str, Any] = grafana.dashboard.update_dashboard(
            {
                # id None + overwrite: Grafana matches on uid, so this is an upsert.
                "dashboard": {**model, "id": None},
                "folderUid": folder_uid,
                "overwrite": True,
                "message": PUSH_MESSAGE,
            }
        )
        pushed.append(
            PushedDashboard(
                uid=str(answer.get("uid", model["uid"])),
                title=str(model["title"]),
                url=str(answer.get("url", "")),
                version=int(answer.get("version", 0)),
            )
        )
    return pushed


def render(model: JSON) -> str:
    """Canonical file form: sorted keys and a final newline, so diffs show only real changes."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_dashboards(out_dir: Path | str, dashboards: Sequence[JSON] | None = None) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``out_dir`` (created if needed)."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for model in all_dashboards() if dashboards is None else dashboards:
        path = directory / f"{model['uid']}.json"
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards.push",
        description="Push the Warmline dashboards to Grafana, or export them as JSON files.",
        epilog="Credentials come from GRAFANA_TOKEN, or GRAFANA_USER and GRAFANA_PASSWORD, "
        "so they never appear in the process list.",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--export", metavar="DIR", type=Path, help="write <uid>.json files here")
    target.add_argument(
        "--url", default=os.environ.get("GRAFANA_URL"), help="Grafana base URL (GRAFANA_URL)"
    )
    parser.add_argument("--folder", default=DEFAULT_FOLDER, help="Grafana folder title")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.export is not None:
        for path in export_dashboards(args.export):
            print(path)
        return 0
    if not args.url:
        parser.error("give --url (or GRAFANA_URL) to push, or --export DIR")
    user, password = os.environ.get("GRAFANA_USER"), os.environ.get("GRAFANA_PASSWORD")
    pushed = push_dashboards(
        args.url,
        token=os.environ.get("GRAFANA_TOKEN") or None,
        basic_auth=(user, password) if user and password else None,
        folder=args.folder,
        timeout=args.timeout,
    )
    for dashboard in pushed:
        print(f"{dashboard.uid}\tv{dashboard.version}\t{dashboard.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

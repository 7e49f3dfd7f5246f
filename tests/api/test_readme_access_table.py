"""README's "Who may do what" table says what the code enforces: each permission's routes are
the routes that require it, and its roles are the roles ``ROLE_PERMISSIONS`` grants it to."""

from __future__ import annotations

import re
from pathlib import Path

from api.app import create_api_app
from api.auth import route_permissions
from models.access import Permission, Role
from runtime.settings import Settings
from tests.audit_keys import open_test_store
from warmline.access import roles_with

README = Path(__file__).resolve().parents[2] / "README.md"
ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`")


def readme_rows() -> dict[str, tuple[set[tuple[str, str]], set[str]]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("### Who may do what", 1)[1].split("\n\n| permission |", 1)[1]
    rows: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        name, routes, roles = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name.strip("`")] = (
            set(ROUTE.findall(routes)),
            {role.strip() for role in roles.split(",")},
        )
    return rows


def test_the_readme_table_matches_the_code(tmp_path: Path) -> None:
    store = open_test_store(f"sqlite:///{tmp_path / 'warmline.db'}")
    routes = route_permissions(create_api_app(store, Settings(data_dir=tmp_path)))
    store.close()
    rows = readme_rows()
    assert set(rows) == {p.value for p in Permission} | {"any credential"}
    for permission in Permission:
        documented_routes, documented_roles = rows[permission.value]
        assert documented_routes == {r for r, p in routes.items() if p is permission}, permission
        assert documented_roles == {r.value for r in roles_with(permission)}, permission
    anyone_routes, anyone = rows["any credential"]
    assert anyone_routes == {r for r, p in routes.items() if p is None}
    assert anyone == {"every role"} and len(Role) == 7

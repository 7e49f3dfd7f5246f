"""A static guard for deterministic workflow code.

Temporal replays a workflow's code against its recorded history, so workflow code must take
time, randomness and waiting from ``workflow.*`` and do no I/O. The sandbox catches some
violations at run time, but ``InteractionWorkflow`` runs outside it (for throughput; see its
module docstring), so this test reads every workflow module, and every project module they
import for decisions (the pure ``warmline`` and ``models`` code), and fails on any call or
import that would make a replay diverge. Activities are exempt: workflows only reference their
methods; they never run them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCANNED_ROOTS = ("workflows", "warmline", "models")
EXEMPT_PREFIXES = ("activities", "store", "workers", "cli", "simulators", "api")

FORBIDDEN_MODULES = {
    "time",
    "random",
    "secrets",
    "uuid",
    "threading",
    "multiprocessing",
    "subprocess",
    "socket",
    "httpx",
    "requests",
    "urllib",
    "sqlite3",
    "sqlmodel",
    "sqlalchemy",
    "psycopg",
    "torch",
    "transformers",
}
FORBIDDEN_ATTRIBUTES = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "urandom"),
    ("asyncio", "to_thread"),
    ("asyncio", "get_event_loop"),
    ("asyncio", "run"),
}
FORBIDDEN_CALLS = {"open", "input", "print"}


def _module_path(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _project_imports(tree: ast.Module, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in SCANNED_ROOTS}


def workflow_closure() -> dict[str, Path]:
    """Every workflow module and the project modules it imports, transitively."""
    todo = [
        f"workflows.{p.stem}" for p in (REPO / "workflows").glob("*.py") if p.stem != "__init__"
    ]
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen or name.startswith(EXEMPT_PREFIXES):
            continue
        path = _module_path(name)
        if path is None:  # a class or function imported from a module, not a module
            continue
        seen[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_project_imports(ast.parse(path.read_text(encoding="utf-8")), package))
    return seen


def violations(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in FORBIDDEN_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_ATTRIBUTES:
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS
        ):
            found.append(f"line {node.lineno}: {node.func.id}()")
    return found


def test_the_closure_covers_the_workflows_and_their_decision_modules() -> None:
    closure = workflow_closure()
    for expected in (
        "workflows.interaction",
        "workflows.interaction_commands",
        "warmline.lifecycle.machine",
        "workflows.canary",
        "warmline.closing",
        "warmline.escalation",
        "warmline.redaction",
        "models.interaction",
    ):
        assert expected in closure, expected


@pytest.mark.parametrize("name", sorted(workflow_closure()))
def test_workflow_code_is_replay_safe(name: str) -> None:
    path = workflow_closure()[name]
    assert violations(path.read_text(encoding="utf-8")) == [], f"{path.relative_to(REPO)}"


@pytest.mark.parametrize(
    "snippet",
    [
        "import time\n",
        "from random import choice\n",
        "from datetime import datetime\nx = datetime.now()\n",
        "import os\nv = os.environ['X']\n",
        "import asyncio\nasyncio.to_thread(f)\n",
        "data = open('f').read()\n",
        "import httpx\n",
    ],
)
def test_the_guard_catches_what_it_claims(snippet: str) -> None:
    assert violations(snippet)

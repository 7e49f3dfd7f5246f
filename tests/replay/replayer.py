"""The replayer every replay test uses: the workers' converter and interceptors, no server."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.worker import Replayer

from runtime.converter import BOUNDARY_CONVERTER
from workflows.boundary import BoundaryInterceptor


def warmline_replayer(workflows: Sequence[type]) -> Replayer:
    """Replays histories as a Warmline worker runs them (payloads in clear)."""
    return Replayer(
        workflows=workflows,
        data_converter=BOUNDARY_CONVERTER,
        interceptors=[BoundaryInterceptor()],
    )

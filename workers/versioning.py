"""Safe deploys: Worker Versioning policy and graceful shutdown, shared by every worker.

With ``WARMLINE_WORKER_BUILD_ID`` set, each worker of a process polls as version
``<WARMLINE_WORKER_DEPLOYMENT_NAME>.<build id>`` of a Worker Deployment. A new build receives
new workflows only once an operator makes it current (``temporal worker deployment
set-current-version``); what happens to workflows already running is a stated policy per task
queue:

* ``InteractionWorkflow`` is **pinned**: an interaction finishes on the code it started on, so
  a workflow change can never meet a live conversation's history. Chats and calls close within
  minutes; the previous build keeps running until its version is drained (``temporal worker
  deployment describe-version``), e-mail threads included.
* Rollouts, A/B tests, rollbacks and supervision phases **auto-upgrade**: they live for days to
  months, so pinning would keep old builds alive for as long. They move to the current build at
  their next task, which is why every change to them is guarded with ``workflow.patched`` and
  checked against the previous release's histories (``tests/replay/test_previous_release.py``).

Without a build id workers are unversioned (``warmline dev``, tests, single-build deploys).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from runtime.settings import Settings

INTERACTIONS: Final = VersioningBehavior.PINNED
LONG_RUNNING: Final = VersioningBehavior.AUTO_UPGRADE
NO_WORKFLOWS: Final = VersioningBehavior.UNSPECIFIED


def deployment_version(settings: Settings) -> WorkerDeploymentVersion | None:
    if settings.worker_build_id is None:
        return None
    return WorkerDeploymentVersion(settings.worker_deployment_name, settings.worker_build_id)


def worker_options(settings: Settings, behavior: VersioningBehavior) -> dict[str, Any]:
    """The ``Worker`` keyword arguments every Warmline worker shares: its deployment version
    (when versioned) and how long a stopping worker lets running activities finish."""
    options: dict[str, Any] = {
        "graceful_shutdown_timeout": timedelta(seconds=settings.worker_graceful_shutdown_seconds)
    }
    version = deployment_version(settings)
    if version is not None:
        options["deployment_config"] = WorkerDeploymentConfig(
            version=version, use_worker_versioning=True, default_versioning_behavior=behavior
        )
    return options

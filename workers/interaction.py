"""Which workflows and activities run on the ``interactions`` task queue, and with what."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.abuse import AbuseActivities
from activities.gate import GateActivities
from activities.interaction import InteractionActivities, InteractionDeps
from activities.safety import SafetyActivities
from models.abuse import AbusePolicy
from models.facts import RecordInteraction
from models.interaction import INTERACTION_TASK_QUEUE
from runtime.abuse_gate import AbuseGate
from runtime.acd_client import AcdClient
from runtime.ai_client import AIClient
from runtime.audit_keys import open_store
from runtime.batching import MicroBatcher
from runtime.classification import BatchingClassifier, IntentClassifier
from runtime.config_cache import RoutingConfigCache
from runtime.customer_key import customer_key_secret
from runtime.fleet_health import FleetHealth
from runtime.metrics import default_metrics
from runtime.settings import Settings
from runtime.staffing_plan import PlanCache
from runtime.supervision_cache import SupervisionPolicyCache
from runtime.turn_scan import load_turn_scanner
from store.abuse import AbuseStore
from store.repository import Store
from store.staffing_plan import PlanStore
from warmline.default_config import default_routing_config
from warmline.default_supervision import default_supervision_policy
from workers.versioning import INTERACTIONS, worker_options
from workflows.boundary import BoundaryInterceptor
from workflows.interaction import InteractionWorkflow

WORKFLOWS: list[type] = [InteractionWorkflow]
RECORD_BATCH = 64
"""Closing records per transaction when many interactions end at once."""


def load_classifier(
    model_dir: Path | None, precision: str | None = None, threads: int | None = None
) -> IntentClassifier:
    """Load the intent model once per process (it is the slowest thing a worker starts)."""
    from classifier import IntentModel, default_model_dir
    from classifier.encoder import configure_threads

    model = IntentModel.load(model_dir or default_model_dir(), precision=precision)
    if threads is not None:  # else loading applied the default (or WARMLINE_CLASSIFIER_THREADS)
        configure_threads(threads)
    return model


@asynccontextmanager
async def interaction_deps(
    settings: Settings,
    store: Store | None = None,
    classifier: IntentClassifier | None = None,
    config_ttl_seconds: float = 2.0,
) -> AsyncIterator[InteractionDeps]:
    """Build the process-wide dependencies and close every client on the way out."""
    customer_keys = customer_key_secret(settings)  # refuse to start without it, before any work
    store = store or open_store(settings)
    if store.active_supervision_policy() is None:
        store.save_supervision_policy(default_supervision_policy(), "bootstrap")
    ai = AIClient(max_connections=settings.ai_max_connections, metrics=default_metrics())
    plans = PlanStore(store.engine)
    plans.init_schema()
    acd = AcdClient(
        settings.acd_url,
        plan=PlanCache(plans, settings.wfm_interval_minutes).upcoming,
        metrics=default_metrics(),
    )
    batching = BatchingClassifier(
        classifier
        or load_classifier(
            settings.classifier_model_dir,
            settings.classifier_precision,
            settings.classifier_threads,
        )
    )
    scanner = load_turn_scanner()
    if settings.classifier_threads is not None:
        # Loading the tagger and detector applied the default again; the setting wins.
        from classifier.encoder import configure_threads

        configure_threads(settings.classifier_threads)
    recorder: MicroBatcher[RecordInteraction, bool] = MicroBatcher(
        "warmline-recorder", store.record_interactions, store.record_interaction, RECORD_BATCH
    )
    gate = abuse_gate(store)
    try:
        yield InteractionDeps(
            store=store,
            classifier=batching,
            recorder=recorder,
            ai=ai,
            acd=acd,
            health=FleetHealth(),
            metrics=default_metrics(),
            abuse=gate,
            scanner=scanner,
            customer_key_secret=customer_keys,
            supervision=SupervisionPolicyCache(store, ttl_seconds=config_ttl_seconds),
            configs=RoutingConfigCache(
                store, default_routing_config(settings.ai_fleet_url), ttl_seconds=config_ttl_seconds
            ),
        )
    finally:
        await ai.aclose()
        await acd.aclose()
        await asyncio.to_thread(batching.close)
        await asyncio.to_thread(recorder.close)
        await asyncio.to_thread(scanner.close)
        await asyncio.to_thread(gate.close)


def abuse_gate(store: Store) -> AbuseGate:
    """Limits counted in the store (fleet-wide), each hit metered and audited."""

    def audit(stream: str, kind: str, payload: dict[str, Any]) -> object:
        return store.append_audit_auto(stream, kind, payload=payload)

    return AbuseGate(
        AbuseStore(store.engine),
        AbusePolicy,  # the activity passes the active config's policy
        metrics=default_metrics(),
        audit=audit,
    )


def interaction_worker(
    client: Client,
    deps: InteractionDeps,
    settings: Settings,
    task_queue: str = INTERACTION_TASK_QUEUE,
) -> Worker:
    activities = InteractionActivities(deps)
    abuse = AbuseActivities(deps.abuse or abuse_gate(deps.store), deps.configs)
    safety = SafetyActivities(deps.scanner or load_turn_scanner(), deps.configs)
    gate = GateActivities(
        abuse, safety, deps.classifier, triage=activities.triage, ai=activities.invoke_ai
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            *activities.all(),
            abuse.check_admission,
            safety.screen_turn,
            gate.pass_gates,
        ],
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_local_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        interceptors=[BoundaryInterceptor()],
        max_cached_workflows=settings.worker_max_cached_workflows,
        # A crashed worker's cached interactions wait this long before another worker takes
        # their next turn (the SDK's default is 10 s of silence on a call); a slow but live
        # worker only costs a replay elsewhere. tests/ops/test_takeover.py holds the bound.
        sticky_queue_schedule_to_start_timeout=timedelta(
            seconds=settings.worker_sticky_timeout_seconds
        ),
        **worker_options(settings, INTERACTIONS),
    )

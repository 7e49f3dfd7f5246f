"""Side effects of ``InteractionWorkflow``: classify, route, call the AI, hand over, record.

Local activities (in-process, no extra server round trip) carry the per-turn hot path:
pattern selection, triage, the AI call and the final write. Calls to the ACD are regular
activities: they may wait on a slow or restarting ACD for minutes and must survive worker loss.
Every activity is idempotent: keys derive from the workflow id and the step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.acd import (
    CallbackRequest,
    ForwardMessage,
    ReleaseReservation,
    ReservationAck,
    ReservationRequest,
    TransferAck,
    TransferRequest,
)
from models.ai import AIReply, AIRequest, ShadowAnswer, ShadowRequest
from models.facts import InteractionFacts, RecordInteraction
from models.handoff import HANDOFF_PREFIX
from models.interaction import Route
from models.routing import (
    AIEndpoint,
    Classification,
    FleetSnapshot,
    HumanAvailability,
    RouteRequest,
    RoutingConfig,
)
from models.safety import ReplyCheck, SafetyAction
from models.supervision import SupervisionMode
from models.triage import (
    FlushRun,
    PatternChoice,
    PatternRequest,
    SupervisionPlan,
    TriageRequest,
    TriageResult,
)
from runtime.abuse_gate import AbuseGate
from runtime.acd_client import AcdClient
from runtime.ai_client import (
    AGENT_TOOLS,
    AIBadResponse,
    AIClient,
    AIError,
    AIRateLimited,
    AIRequestRejected,
)
from runtime.batching import MicroBatcher
from runtime.classification import BatchingClassifier
from runtime.config_cache import RoutingConfigCache
from runtime.converter import describe
from runtime.fleet_health import FleetHealth
from runtime.supervision_cache import SupervisionPolicyCache
from runtime.turn_scan import TurnScanner, load_turn_scanner
from store.repository import Store
from warmline import compliance
from warmline.customers import customer_key
from warmline.intents import DEFAULT_INTENTS, OUT_OF_SCOPE
from warmline.pii.at_rest import (
    AtRestTokens,
    TextSlots,
    archive_texts,
    callback_texts,
    record_texts,
    shadow_texts,
    transfer_texts,
    used_numbers,
)
from warmline.redaction import redact
from warmline.routing import decide_route, select_pattern
from warmline.safety import check_reply
from warmline.supervision import mode_for

MAX_FAILURE_CHARS = 500
MAX_AI_REPLY_CHARS = 8_000
"""An AI answer longer than this is a bad response (retried, then the turn fails over)."""


def safe_failure(exc: BaseException) -> ApplicationError:
    """The failure an activity reports for ``exc``: its message redacted and bounded, the
    retry semantics kept, and no cause chain (the SDK would serialise the original message,
    an AI's or ACD's error body echoing customer text, into history and logs)."""
    if isinstance(exc, ApplicationError):
        return ApplicationError(
            redact(exc.message)[:MAX_FAILURE_CHARS],
            type=exc.type,
            non_retryable=exc.non_retryable,
            next_retry_delay=exc.next_retry_delay,
        )
    if isinstance(exc, ValidationError):
        # An answer that is not the contract: its values may be anything, name the fields.
        return ApplicationError(
            f"invalid {exc.title}: {describe(exc)}"[:MAX_FAILURE_CHARS], type="BadResponse"
        )
    message = redact(f"{type(exc).__name__}: {exc}")[:MAX_FAILURE_CHARS]
    return ApplicationError(message, type=type(exc).__name__)


def named_only(endpoint: AIEndpoint | None) -> AIEndpoint | None:
    """The endpoint as workflow state and history keep it: no URL, model, key variable or the
    agent's instructions (confidential, and resolved per call like the rest)."""
    if endpoint is None:
        return None
    return endpoint.model_copy(
        update={
            "url": "",
            "model": "",
            "api_key_env": None,
            "system_prompt": None,
            "tool_descriptions": [],
        }
    )


WARMLINE_TOOL_TEXTS: tuple[str, ...] = tuple(
    str(tool["function"]["description"]) for tool in AGENT_TOOLS
)


def reply_check(config: RoutingConfig, request: AIRequest, text: str) -> ReplyCheck:
    """The safety policy's output check of one AI reply (``request`` as resolved: its endpoint
    carries the agent's own prompt and tools). Run inside the AI call so the hot path gets no
    extra step; the lifecycle acts on the result before the customer sees anything.

    Guarded against echo: Warmline's system message and tool descriptions, and the endpoint's
    own; a hand-off briefing is conversation context, not instructions, and is left out.
    """
    policy = config.safety.model_copy(update={"version": config.version})
    endpoint = request.endpoint
    prompts = [
        m.content
        for m in request.messages
        if m.role == "system" and not m.content.startswith(HANDOFF_PREFIX)
    ]
    if endpoint.system_prompt:
        prompts.append(endpoint.system_prompt)
    check = check_reply(
        policy,
        request.intent,
        request.channel,
        redact(text),
        "\n".join(prompts),
        (*WARMLINE_TOOL_TEXTS, *endpoint.tool_descriptions),
    )
    if check.action is SafetyAction.REFUSE_POLITELY:
        check.refusal_text = policy.refusal_text
    return check


@contextmanager
def redacted_failures() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        raise safe_failure(exc) from None


class Metrics(Protocol):
    """What the activities record; ``runtime.metrics.WarmlineMetrics`` implements it."""

    def interaction_started(self, channel: str, pattern: str) -> None: ...

    def routing_decided(self, route: str, pattern: str, intent: str) -> None: ...

    def observe_classification(self, intent: str, confidence: float, seconds: float) -> None: ...

    def record_interaction_facts(self, facts: InteractionFacts) -> None: ...

    def observe_ai_call(
        self,
        agent: str,
        version: str,
        status: str,
        seconds: float,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
    ) -> None: ...

    def reply_violation(self, agent: str, version: str, kind: str, action: str) -> None: ...


@dataclass
class InteractionDeps:
    store: Store
    classifier: BatchingClassifier
    """Concurrent first messages share one forward pass (``runtime.classification``)."""
    recorder: MicroBatcher[RecordInteraction, bool]
    """Group commit for closing records (``runtime.batching``)."""
    ai: AIClient
    acd: AcdClient
    health: FleetHealth
    configs: RoutingConfigCache
    supervision: SupervisionPolicyCache
    metrics: Metrics | None = None
    abuse: AbuseGate | None = None
    """Fleet-wide abuse limits (``activities.abuse``); None: one over ``store`` is built."""
    scanner: TurnScanner | None = None
    """The local models (``activities.safety``; names and addresses in what is written at
    rest); None: the shared ones are loaded on first use."""
    customer_key_secret: bytes | None = None
    """Keys the pseudonymous customer key of the facts (``runtime.customer_key``); None: the
    facts get no key (tests that build deps by hand), never the raw id."""


class InteractionActivities:
    def __init__(self, deps: InteractionDeps) -> None:
        self.deps = deps

    # -- names and addresses at rest ----------------------------------------------------
    def _scanner(self) -> TurnScanner:
        if self.deps.scanner is None:
            self.deps.scanner = load_turn_scanner()
        return self.deps.scanner

    async def _tokenise(self, slots: TextSlots, start: dict[str, int] | None = None) -> None:
        """Replace the names and addresses the local model finds in ``slots`` by tokens.

        A tagger that fails fails the activity retryably: the record is written tokenised on
        a later attempt, or (for an archive) stays in workflow state, never written in clear.
        """
        if not slots.texts:
            return
        try:
            spans = await self._scanner().spans_many(slots.texts)
        except Exception as exc:
            raise ApplicationError(
                f"name/address tagger failed ({type(exc).__name__}); nothing was written",
                type="PiiTaggerFailed",
            ) from None
        slots.fill(spans, AtRestTokens(start))

    async def _numbered_after(self, interaction_id: str, run_index: int | None) -> dict[str, int]:
        """The token numbers the archives of runs before ``run_index`` used (all runs: None),
        for the closing archive joins them; run 0 has none before it."""
        if run_index == 0:
            return {}
        earlier = await asyncio.to_thread(
            self.deps.store.archived_transcript, interaction_id, run_index
        )
        return used_numbers(entry.text for entry in earlier)

    # -- decision steps (local activities) ------------------------------------------------
    @activity.defn
    async def select_pattern(self, request: PatternRequest) -> PatternChoice:
        config = await self.deps.configs.get()
        pattern, reason = select_pattern(config, request.entry_point, request.has_upstream_intent)
        return PatternChoice(pattern=pattern, reason=reason, config_version=config.version)

    @activity.defn
    async def triage(self, request: TriageRequest) -> TriageResult:
        started = time.perf_counter()
        classification = request.classification
        config = await self.deps.configs.get()
        upstream = request.upstream_intent
        unknown_upstream = upstream is not None and upstream.intent not in self._known(config)
        if classification is None:
            if upstream is not None and not unknown_upstream:
                classification = Classification(
                    intent=upstream.intent,
                    confidence=upstream.confidence,
                    model_version="upstream",
                    source="upstream",
                )
            else:
                classification = await self.deps.classifier.classify_async(request.text)
        classify_ms = (time.perf_counter() - started) * 1000
        snapshot = FleetSnapshot(
            endpoints=self.deps.health.snapshot(), humans=await self.deps.acd.capacity()
        )
        route_request = RouteRequest(
            interaction_id=request.interaction_id,
            channel=request.channel,
            segment=request.segment,
            language=request.language,
            region=request.region,
            entry_point=request.entry_point,
            classification=classification,
        )
        decision = decide_route(route_request, config, snapshot, request.pattern)
        # The workflow keeps only which endpoint (name, version, and what routing reads):
        # where it lives and how to authenticate are resolved per call (``_resolved``).
        decision = decision.model_copy(
            update={
                "ai_endpoint": named_only(decision.ai_endpoint),
                "shadow_endpoint": named_only(decision.shadow_endpoint),
            }
        )
        if unknown_upstream and request.classification is None:
            # Never echoed: an unknown label is outside text (metrics labels, search
            # attributes and policy only ever see known intents).
            reason = "upstream intent is not a known intent: classified from the text instead"
            decision.reasons.insert(0, reason)
        plan = None
        if decision.route is not Route.HUMAN:
            policy = await self.deps.supervision.get()
            mode, why = mode_for(
                policy, classification.intent, request.channel.value, decision.route.value
            )
            plan = SupervisionPlan(
                mode=mode,
                reason=why,
                policy_version=policy.version,
                triggers=policy.triggers,
                review_deadline_seconds=policy.review_deadline_seconds,
                qa_sample_rate=(
                    policy.semi_autonomous_qa_sample_rate
                    if mode is SupervisionMode.SEMI_AUTONOMOUS
                    else policy.qa_sample_rate
                ),
            )
        metrics = self.deps.metrics
        if metrics is not None and request.classification is None:
            if request.turn is None:  # a later turn classified again starts nothing
                metrics.interaction_started(request.channel.value, request.pattern.value)
            metrics.observe_classification(
                classification.intent, classification.confidence, classify_ms / 1000
            )
        if metrics is not None:
            metrics.routing_decided(decision.route.value, decision.pattern.value, decision.intent)
        duties = None
        if request.jurisdiction is not None:
            # The regulatory policy is part of the config version routing used: one version
            # names both in the audit trail.
            regulatory = config.regulatory.model_copy(update={"version": config.version})
            duties = compliance.start(regulatory, request.jurisdiction, request.channel.value)
        return TriageResult(
            classification=classification,
            decision=decision,
            supervision=plan,
            classify_ms=round(classify_ms, 3),
            compliance=duties,
        )

    def _known(self, config: RoutingConfig) -> frozenset[str]:
        """Intents an upstream label may name: the model's labels, the routing config's mapped
        intents and out-of-scope (the defaults when the model does not list its labels)."""
        labels = getattr(self.deps.classifier.model, "labels", None) or DEFAULT_INTENTS
        return frozenset([*labels, *config.intent_map, OUT_OF_SCOPE])

    async def _resolved(self, request: AIRequest) -> AIRequest:
        return (await self._resolve(request))[0]

    async def _resolve(self, request: AIRequest) -> tuple[AIRequest, RoutingConfig]:
        """The request addressed as the routing config says: URL, model, credentials and
        timeout come from the config's endpoint of that name and version, never from what the
        workflow carried (its state and inputs only name the endpoint)."""
        named = request.endpoint
        config = await self.deps.configs.get()
        for endpoint in config.ai_endpoints:
            if endpoint.name == named.name and endpoint.version == named.version:
                return request.model_copy(update={"endpoint": endpoint}), config
        raise ApplicationError(
            f"AI endpoint {named.name}:{named.version} is not in routing config v{config.version}",
            type="EndpointUnknown",
            non_retryable=True,
        )

    @activity.defn
    async def invoke_ai(self, request: AIRequest) -> AIReply:
        """One AI turn, checked against the safety policy before anyone sees it; a retry
        re-sends the same idempotency key, never a second answer."""
        request, config = await self._resolve(request)
        ep = request.endpoint
        ticket = self.deps.health.try_acquire(ep.name, ep.version)
        if ticket is None:
            raise ApplicationError(
                f"circuit open for {ep.name}:{ep.version}", type="CircuitOpen", non_retryable=True
            )
        started = time.perf_counter()
        status, success = "ok", False
        try:
            reply = await self.deps.ai.complete(request)
            if len(reply.text) > MAX_AI_REPLY_CHARS:
                # Kept in state and sent to the customer: a runaway answer fails over instead.
                raise AIBadResponse(
                    f"reply of {len(reply.text)} characters (at most {MAX_AI_REPLY_CHARS})"
                )
            reply.check = reply_check(config, request, reply.text)
            if self.deps.metrics is not None:
                for finding in reply.check.findings:
                    self.deps.metrics.reply_violation(
                        ep.name, ep.version, finding.kind.value, reply.check.action.value
                    )
            success = True
            return reply
        except AIRateLimited as exc:
            status = exc.kind
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
            raise safe_failure(
                ApplicationError(str(exc), type="AIRateLimited", next_retry_delay=delay)
            ) from None
        except AIRequestRejected as exc:
            status = exc.kind
            raise safe_failure(
                ApplicationError(str(exc), type="AIRequestRejected", non_retryable=True)
            ) from None
        except AIBadResponse as exc:
            status = exc.kind
            raise safe_failure(ApplicationError(str(exc), type="AIBadResponse")) from None
        except AIError as exc:
            status = exc.kind
            raise safe_failure(ApplicationError(str(exc), type=type(exc).__name__)) from None
        finally:
            # Health feeds (issue 7): the error kind for the breaker, the reply for quality.
            self.deps.health.release(ticket, success, None if success else status)
            if success:
                self.deps.health.record_reply(
                    ep.name,
                    ep.version,
                    reply.text,
                    reply.action.value,
                    reply.prompt_tokens + reply.completion_tokens,
                    request.interaction_id,
                )
            if self.deps.metrics is not None:
                elapsed = time.perf_counter() - started
                if success:
                    self.deps.metrics.observe_ai_call(
                        ep.name,
                        ep.version,
                        status,
                        elapsed,
                        reply.prompt_tokens,
                        reply.completion_tokens,
                        reply.cost_usd,
                    )
                else:
                    self.deps.metrics.observe_ai_call(ep.name, ep.version, status, elapsed, 0, 0, 0)

    @activity.defn
    async def shadow_ai(self, shadow: ShadowRequest) -> None:
        """Ask the shadow version the same question and keep its answer for comparison.

        Never raises for the shadow's own faults: a broken shadow must not cost the live path
        anything, not even a retry.
        """
        try:
            request = await self._resolved(shadow.request)
        except ApplicationError as exc:
            request = shadow.request
            unknown = ShadowAnswer(
                interaction_id=request.interaction_id,
                turn=request.turn,
                endpoint=f"{request.endpoint.name}:{request.endpoint.version}",
                live_model_version=shadow.live_model_version,
                live_text=shadow.live_text,
                error=exc.message,
            )
            await self._store_shadow(unknown)
            return
        ep = request.endpoint
        answer = ShadowAnswer(
            interaction_id=request.interaction_id,
            turn=request.turn,
            endpoint=f"{ep.name}:{ep.version}",
            live_model_version=shadow.live_model_version,
            live_text=shadow.live_text,
        )
        ticket = self.deps.health.try_acquire(ep.name, ep.version)
        if ticket is None:
            answer.error = "breaker open"
        else:
            success = False
            try:
                reply = await self.deps.ai.complete(request)
                success = True
                answer.shadow_text = redact(reply.text)
                answer.shadow_action = reply.action.value
                answer.latency_ms = reply.latency_ms
                answer.cost_usd = reply.cost_usd
            except AIError as exc:
                answer.error = redact(f"{exc.kind}: {exc}")[:MAX_FAILURE_CHARS]
            finally:
                self.deps.health.release(ticket, success)
        await self._store_shadow(answer)

    async def _store_shadow(self, answer: ShadowAnswer) -> None:
        """Keep a shadow comparison with names and addresses tokenised; if the tagger fails,
        without its texts (a shadow never costs the live path a retry)."""
        try:
            await self._tokenise(shadow_texts(answer))
        except ApplicationError as exc:
            answer.live_text, answer.shadow_text = "", None
            answer.error = exc.message
        await asyncio.to_thread(self.deps.store.record_shadow_answer, answer)

    def _key_customer(self, record: RecordInteraction) -> None:
        """Replace the record's customer id by the facts' pseudonymous key (repeat contact),
        so the raw id goes no further than this activity."""
        secret = self.deps.customer_key_secret
        if record.customer_id is not None and secret is not None:
            record.facts.customer_key = customer_key(secret, record.tenant, record.customer_id)
        record.customer_id = record.tenant = None

    @activity.defn
    async def record_interaction(self, record: RecordInteraction) -> bool:
        """Facts, audit and supervision in one transaction (shared with whichever interactions
        close at the same moment); a retry after a lost ack writes nothing twice. Names and
        addresses are tokenised first (the tagger is deterministic: a retry writes the same)."""
        record = record.model_copy(deep=True)
        self._key_customer(record)
        # The closing archive numbers its tokens on from the earlier runs' (none before run 0).
        start = await self._numbered_after(record.facts.interaction_id, record.run_index)
        await self._tokenise(record_texts(record), start)
        written = await self.deps.recorder.submit(record)
        if written:
            self.deps.health.record_facts(record.facts)  # containment for the breaker
        if written and self.deps.metrics is not None:
            self.deps.metrics.record_interaction_facts(record.facts)
        return written

    @activity.defn
    async def human_capacity(self, queue: str) -> HumanAvailability | None:
        """The queue's staffing right now (cached ~1 s), for spillover and metering."""
        for availability in await self.deps.acd.capacity(fresh=True):
            if availability.queue == queue:
                return availability
        return None

    # -- regular activities -------------------------------------------------------------
    @activity.defn
    async def flush_run(self, flush: FlushRun) -> None:
        """A run's older turns and pending audit into the store before continue-as-new, with
        names and addresses tokenised (numbered on from the earlier runs' archives)."""
        flush = flush.model_copy(deep=True)
        archive = flush.archive
        start = await self._numbered_after(archive.interaction_id, archive.run_index)
        await self._tokenise(archive_texts(archive, flush.audit), start)
        await asyncio.to_thread(self.deps.store.archive_transcript, archive)
        if flush.audit:
            await asyncio.to_thread(self.deps.store.append_audit, flush.audit)

    @activity.defn
    async def reserve_human(self, request: ReservationRequest) -> ReservationAck:
        with redacted_failures():
            return await self.deps.acd.reserve(request)

    @activity.defn
    async def release_reservation(self, request: ReleaseReservation) -> None:
        with redacted_failures():
            await self.deps.acd.release(request.reservation_id)

    @activity.defn
    async def warm_transfer(self, request: TransferRequest) -> TransferAck:
        """The ACD keeps the hand-over package: names and addresses go as tokens."""
        request = request.model_copy(deep=True)
        await self._tokenise(transfer_texts(request))
        with redacted_failures():
            return await self.deps.acd.transfer(request)

    @activity.defn
    async def withdraw_transfer(self, transfer_id: str) -> None:
        with redacted_failures():
            await self.deps.acd.withdraw(transfer_id)

    @activity.defn
    async def forward_to_human(self, message: ForwardMessage) -> None:
        with redacted_failures():
            await self.deps.acd.forward(message)

    @activity.defn
    async def schedule_callback(self, request: CallbackRequest) -> None:
        request = request.model_copy(deep=True)
        await self._tokenise(callback_texts(request))
        with redacted_failures():
            await self.deps.acd.callback(request)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.select_pattern,
            self.triage,
            self.human_capacity,
            self.invoke_ai,
            self.shadow_ai,
            self.record_interaction,
            self.flush_run,
            self.reserve_human,
            self.release_reservation,
            self.warm_transfer,
            self.withdraw_transfer,
            self.forward_to_human,
            self.schedule_callback,
        ]

"""OpenTelemetry traces: client -> workflow -> activities -> the AI and ACD HTTP calls.

Off by default (``WARMLINE_TRACING=off``). When on, every Warmline client carries the SDK's
``TracingInterceptor`` (workers built on that client inherit it), so a ``send_message`` update
started by a CCaaS platform, the workflow handling it, its local activities and the httpx
request to the AI endpoint form one trace. The httpx spans come from the httpx
instrumentation, which propagates ``traceparent`` to the AI and ACD adapters as well.

Span names and attributes are the SDK's and httpx's: workflow ids and URLs, never payloads, so
no customer text reaches the trace backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

from runtime.settings import Settings

SERVICE = "warmline"


@dataclass
class Tracing:
    """One tracer provider per process and the interceptor every client gets."""

    provider: TracerProvider
    interceptor: TracingInterceptor
    instrumented: list[Any] = field(default_factory=list)

    def instrument_httpx(self) -> None:
        """Trace every httpx request of this process (AI, ACD and webhook clients alike)."""
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        instrumentor = HTTPXClientInstrumentor()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=self.provider)
            self.instrumented.append(instrumentor)

    def close(self) -> None:
        """Flush what is buffered and undo the httpx instrumentation."""
        for instrumentor in self.instrumented:
            instrumentor.uninstrument()
        self.instrumented.clear()
        self.provider.shutdown()


def build_tracing(processor: SpanProcessor) -> Tracing:
    """A tracer provider exporting through ``processor`` (tests pass an in-memory one)."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: SERVICE}))
    provider.add_span_processor(processor)
    return Tracing(provider, TracingInterceptor(provider.get_tracer("warmline")))


def span_exporter(mode: str, endpoint: str | None) -> SpanExporter | None:
    if mode == "console":
        return ConsoleSpanExporter()
    if mode == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint)
    return None


@cache
def _process_tracing(mode: str, endpoint: str | None) -> Tracing | None:
    """Created once per choice: every client a process connects shares one provider and one
    httpx instrumentation."""
    exporter = span_exporter(mode, endpoint)
    if exporter is None:
        return None
    tracing = build_tracing(BatchSpanProcessor(exporter))
    tracing.instrument_httpx()
    return tracing


def tracing_for(settings: Settings) -> Tracing | None:
    """The process's tracing, or ``None`` when ``WARMLINE_TRACING`` is off."""
    return _process_tracing(settings.tracing, settings.tracing_otlp_endpoint)

"""Process settings, read from ``WARMLINE_*`` environment variables (and a ``.env`` file).

Defaults describe the embedded stack (``warmline dev``): a local Temporal dev server, a SQLite
file in the data directory and the bundled simulators on loopback. Production sets the same
variables to a Temporal cluster, PostgreSQL and real AI/ACD endpoints.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ASYMMETRIC_JWT_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
"""Signature algorithms a JWKS can vouch for: never ``none``, never a shared-secret HS*."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _trusted_key_url(url: str) -> bool:
    """https, or plain http to this machine (a test or sidecar IdP): signing keys fetched over
    the network in clear could be swapped by anyone on the path."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


class Settings(BaseSettings):
    # env_ignore_empty: compose passes every setting as ``${WARMLINE_X:-}``, so an unset one
    # arrives as an empty string and must mean "use the default", not "the empty value".
    model_config = SettingsConfigDict(
        env_prefix="WARMLINE_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = Field(default=None, description="mTLS client cert (PEM)")
    temporal_tls_key: Path | None = Field(default=None, description="mTLS client key (PEM)")
    temporal_tls_ca: Path | None = Field(
        default=None, description="CA that signed the frontend's certificate (PEM); default: system"
    )
    temporal_api_key: SecretStr | None = None
    temporal_ui_port: int = 8233

    data_dir: Path = Path(".warmline")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite file in data_dir"
    )

    ai_fleet_url: str = Field(
        default="http://127.0.0.1:8701",
        description="Base URL of the simulated fleet; real endpoints come from the routing config",
    )
    ai_fleet_port: int = 8701
    acd_url: str = "http://127.0.0.1:8702"
    acd_port: int = 8702
    api_port: int = 8700
    classifier_model_dir: Path | None = Field(
        default=None, description="Intent model directory; default: the bundled model"
    )
    classifier_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto", description="Encoder arithmetic; auto: bf16 where the CPU has it natively"
    )
    classifier_threads: int | None = Field(
        default=None,
        ge=1,
        description="Torch threads of a batched classifier pass per worker process (default: "
        "min(2, cores)); one utterance, a small batch and the tagger run on one",
    )
    payload_encryption: bool = Field(
        default=True, description="Encrypt every Temporal payload (runtime/codec.py)"
    )
    payload_keys: SecretStr | None = Field(
        default=None,
        description="id:base64key[,id:base64key...], first encrypts; default: a key file in "
        "data_dir (single host only)",
    )
    require_encryption: bool = Field(
        default=False,
        description="Refuse plain (unencrypted) payloads: a start, signal or update sent "
        "without the codec is rejected (on in docker/compose.yaml; see README)",
    )
    codec_cors_origins: list[str] | None = Field(
        default=None,
        description="Origins allowed to call /codec (the Temporal UI); default: the dev UI "
        "on localhost and 127.0.0.1 at temporal_ui_port",
    )
    # Audit chain (runtime/audit_keys.py): HMAC links and signed checkpoints.
    audit_keys: SecretStr | None = Field(
        default=None,
        description="id:base64key[,...] (32+ bytes each), first links new audit records; "
        "default: the key file `warmline dev` creates in data_dir, else refuse to start",
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Base64 Ed25519 private key (32 bytes) that signs audit checkpoints; "
        "default: the key file `warmline dev` creates in data_dir, else refuse to start",
    )
    audit_public_keys: list[str] | None = Field(
        default=None,
        description="Hex Ed25519 public keys trusted for checkpoints (auditors); default: the "
        "signing key's",
    )
    retention_every_minutes: int = Field(
        default=60, ge=1, description="How often the retention schedule checkpoints and purges"
    )
    calibration_every_minutes: float = Field(
        default=1440.0,
        ge=0,
        description="How often routing calibration proposes thresholds and capability scores "
        "from outcomes (a proposal waits for approval); 0 creates no schedule",
    )
    metrics_port: int = Field(default=9464, description="Prometheus port of `warmline worker`")
    ai_max_connections: int = 200
    worker_max_concurrent_activities: int = 200
    worker_max_concurrent_workflow_tasks: int = 100

    # Fleet health (runtime/health_sync.py): breakers shared through the store.
    health_flush_seconds: float = Field(
        default=1.0, gt=0, description="How often each worker flushes and merges health windows"
    )
    health_stale_seconds: float = Field(
        default=5.0, gt=0, description="Windows older than this (dead workers) leave the merge"
    )
    breaker_open_seconds: float = Field(default=10.0, gt=0, description="Open before a probe")
    breaker_window_seconds: float = Field(default=30.0, gt=0, description="Time window span")
    breaker_minimum_calls: int = Field(default=10, ge=1, description="Calls before rates count")
    breaker_failure_rate: float = Field(default=0.5, gt=0, le=1, description="Opens at this")
    breaker_consecutive_failures: int = Field(default=5, ge=1, description="Opens at this")
    auto_rollback_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a worker holds an opening's automatic rollback before others may",
    )
    auto_rollback_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often workers look for rollbacks nobody is handling"
    )
    wfm_webhook_url: str | None = Field(
        default=None, description="POST target for WFM capacity events (through the outbox)"
    )
    wfm_interval_minutes: int = Field(default=15, ge=1, description="WFM planning interval")
    wfm_target_service_level: float = Field(default=0.8, gt=0, lt=1)
    wfm_target_answer_seconds: float = Field(default=20.0, gt=0)
    wfm_human_aht_seconds: float = Field(
        default=360.0, gt=0, description="Human AHT when the store has no recent handle times"
    )

    # Operations (README "Running in production"): where processes listen, how they log and
    # trace, which Temporal namespace settings `warmline setup` applies, worker versioning.
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the worker's metrics endpoints bind to"
    )
    temporal_metrics_port: int = Field(
        default=9465, ge=0, description="Temporal SDK runtime metrics of a worker; 0: off"
    )
    api_host: str = Field(default="0.0.0.0", description="Address `warmline api` binds to")
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one object per line with interaction/trace ids"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tracing: Literal["off", "otlp", "console"] = Field(
        default="off", description="OpenTelemetry span exporter (otlp: OTLP over HTTP)"
    )
    tracing_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL; default: OTEL_EXPORTER_OTLP_ENDPOINT or localhost",
    )
    temporal_retention_days: int = Field(
        default=3, ge=1, description="Workflow history retention `warmline setup` applies"
    )
    worker_deployment_name: str = Field(
        default="warmline", pattern=r"^[A-Za-z0-9_-]+$", description="Worker Deployment name"
    )
    worker_build_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.+-]+$",
        description="Build id of this worker's code; set: Worker Versioning on",
    )
    worker_graceful_shutdown_seconds: float = Field(
        default=60.0, ge=0, description="How long a stopping worker lets activities finish"
    )
    worker_sticky_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long an interaction's workflow task waits for the worker that has it "
        "cached before any worker may take it (the SDK's sticky_queue_schedule_to_start_timeout"
        ", default 10 s): after a worker crash, the silence on a voice call (README: Sizing)",
    )
    worker_max_cached_workflows: int = Field(
        default=6000,
        ge=0,
        description="Sticky cache: interactions kept in memory per worker (README: Sizing)",
    )

    # Access (README "Security model"): OIDC bearer tokens for people, API keys for services.
    oidc_issuer: str | None = Field(default=None, description="Expected `iss` of OIDC tokens")
    oidc_audience: str | None = Field(default=None, description="Expected `aud` (this API)")
    oidc_jwks_url: str | None = Field(
        default=None, description="The issuer's JWKS (https, or http on loopback only)"
    )
    oidc_roles_claim: str = Field(
        default="roles", description="Claim holding Warmline roles; dotted for nested claims"
    )
    oidc_subject_claim: str = Field(
        default="sub", description="Claim recorded as who acted (e.g. email, preferred_username)"
    )
    oidc_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"],
        description="Accepted signature algorithms (asymmetric only; `none` and HS* refused)",
    )
    oidc_leeway_seconds: float = Field(default=30.0, ge=0, le=300, description="Clock skew")
    oidc_jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long fetched signing keys are trusted"
    )
    oidc_jwks_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description="An unknown `kid` refetches the JWKS at most this often (IdP key rotation)",
    )
    api_key_secret: SecretStr | None = Field(
        default=None,
        description="Server secret of the API-key HMAC; default: the file `warmline dev` "
        "creates in data_dir, else refuse to start. Changing it invalidates every API key",
    )
    customer_key_secret: SecretStr | None = Field(
        default=None,
        description="Server secret of the pseudonymous customer key in the facts (HMAC of "
        "tenant and customer id); default: the file `warmline dev` creates in data_dir, else "
        "refuse to start. Changing it makes returning customers look new (repeat contact)",
    )
    api_url: str | None = Field(
        default=None, description="The API the CLI acts through; default http://127.0.0.1:api_port"
    )
    api_token: SecretStr | None = Field(
        default=None, description="The CLI's bearer token: an OIDC access token or an API key"
    )

    @model_validator(mode="after")
    def _encryption_consistent(self) -> Settings:
        if self.require_encryption and not self.payload_encryption:
            raise ValueError(
                "WARMLINE_REQUIRE_ENCRYPTION needs WARMLINE_PAYLOAD_ENCRYPTION on: a process "
                "that cannot encrypt would refuse its own payloads"
            )
        return self

    @model_validator(mode="after")
    def _oidc_complete_and_safe(self) -> Settings:
        given = [self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "OIDC needs WARMLINE_OIDC_ISSUER, WARMLINE_OIDC_AUDIENCE and "
                "WARMLINE_OIDC_JWKS_URL together"
            )
        refused = [a for a in self.oidc_algorithms if a not in ASYMMETRIC_JWT_ALGORITHMS]
        if refused or not self.oidc_algorithms:
            raise ValueError(
                f"WARMLINE_OIDC_ALGORITHMS: {refused or 'empty'} not allowed; choose from "
                f"{', '.join(ASYMMETRIC_JWT_ALGORITHMS)}"
            )
        if self.oidc_jwks_url and not _trusted_key_url(self.oidc_jwks_url):
            raise ValueError("WARMLINE_OIDC_JWKS_URL must be https (http only on loopback)")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_jwks_url is not None

    @property
    def resolved_api_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    # WFM integration (issue 15): intervals, events, the polling API, exports.
    wfm_rollup_every_seconds: float = Field(
        default=60.0, ge=0, description="Interval rollup schedule period; 0 creates no schedule"
    )
    wfm_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks signing secret (whsec_<base64>) for WFM events; "
        "without it nothing is delivered",
    )
    wfm_event_source: str = Field(
        default="warmline", description="CloudEvents source of every WFM event"
    )
    wfm_webhook_max_attempts: int = Field(
        default=12, ge=1, description="Delivery attempts before an event goes to the dead letter"
    )
    wfm_outbox_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a worker holds an event it is delivering"
    )
    wfm_event_poll_seconds: float = Field(
        default=0.1, gt=0, description="How often a worker looks for due WFM events"
    )
    wfm_alert_window_seconds: float = Field(
        default=300.0, gt=0, description="Rolling window of the containment and escalation watch"
    )
    wfm_alert_baseline_seconds: float = Field(
        default=3600.0, gt=0, description="Baseline the rolling window is compared with"
    )
    wfm_containment_drop_points: float = Field(
        default=0.05, gt=0, lt=1, description="Containment drop (share) that fires an event"
    )
    wfm_escalation_spike_factor: float = Field(
        default=2.0, gt=1, description="Escalations per minute vs baseline that fire an event"
    )
    wfm_alert_min_window: int = Field(
        default=20, ge=1, description="Interactions the window needs before it is judged"
    )
    wfm_census_seconds: float = Field(
        default=15.0, gt=0, description="How often open interactions are counted for the gauge"
    )
    wfm_site_timezone: str = Field(
        default="UTC", description="IANA zone of the site: local days and times in exports"
    )

    @property
    def resolved_codec_cors_origins(self) -> list[str]:
        if self.codec_cors_origins is not None:
            return self.codec_cors_origins
        port = self.temporal_ui_port
        return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'warmline.db').resolve()}"


def load_settings() -> Settings:
    return Settings()

"""Process settings, read from ``WARMLINE_*`` environment variables (and a ``.env`` file).

Defaults describe the embedded stack (``warmline dev``): a local Temporal dev server, a SQLite
file in the data directory and the bundled simulators on loopback. Production sets the same
variables to a Temporal cluster, PostgreSQL and real AI/ACD endpoints.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARMLINE_", env_file=".env", extra="ignore")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = Field(default=None, description="mTLS client cert (PEM)")
    temporal_tls_key: Path | None = Field(default=None, description="mTLS client key (PEM)")
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
        default=None, ge=1, description="Torch threads per worker process (default: min(2, cores))"
    )
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for routing changes through the API"
    )
    payload_encryption: bool = Field(
        default=True, description="Encrypt every Temporal payload (runtime/codec.py)"
    )
    payload_keys: SecretStr | None = Field(
        default=None,
        description="id:base64key[,id:base64key...], first encrypts; default: a key file in "
        "data_dir (single host only)",
    )
    codec_cors_origins: list[str] | None = Field(
        default=None,
        description="Origins allowed to call /codec (the Temporal UI); default: the dev UI "
        "on localhost and 127.0.0.1 at temporal_ui_port",
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

    # WFM integration (issue 15): intervals, events, the polling API, exports.
    wfm_rollup_every_seconds: float = Field(
        default=60.0, ge=0, description="Interval rollup schedule period; 0 creates no schedule"
    )
    wfm_reader_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the WFM API's reads (temporary, until roles land); the "
        "admin token also reads and is the one that pushes schedules",
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

"""Static checks of the production compose stack.

There is no container engine on the test machines, so nothing here starts a container.
Instead the files are parsed and cross-checked: every reference between them (service names,
ports, mounted paths, database names, environment variables) must resolve, and the committed
Grafana dashboards must equal what the code generates today.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from dashboards.push import export_dashboards
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
# WARMLINE_* names the stack uses that are not fields of runtime.settings.Settings.
COMPOSE_ONLY_WARMLINE_VARS = {"WARMLINE_DB_PASSWORD", "WARMLINE_IMAGE"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(DOCKER / "compose.yaml")
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def container_ports(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on inside the network: ``expose`` plus the container side of
    ``ports`` (``[host_ip:]host:container``)."""
    ports = {int(p) for p in service.get("expose", [])}
    ports |= {int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports", [])}
    return ports


def environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "use the mapping form for environment"
    return env


def uninterpolated(value: str) -> str:
    """``value`` with every ``${...}`` replaced by a plain token, so it can be parsed as a URL."""
    return re.sub(r"\$\{[^}]*\}", "x", value)


def env_example() -> str:
    return (DOCKER / ".env.example").read_text(encoding="utf-8")


def documented_vars() -> set[str]:
    """Variables assigned in .env.example, including commented-out examples."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example(), flags=re.MULTILINE))


def test_compose_parses_and_has_the_stack(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgresql",
        "temporal-admin-tools",
        "temporal",
        "warmline-setup",
        "temporal-ui",
        "warmline-worker",
        "warmline-api",
        "prometheus",
        "grafana",
    }


def test_depends_on_targets_exist_and_health_conditions_have_checks(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        targets = depends.items() if isinstance(depends, dict) else ((d, {}) for d in depends)
        for target, condition in targets:
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"


ONE_OFF = {"temporal-admin-tools", "warmline-setup"}
"""Run to completion, so "healthy" does not apply: others wait for their successful exit."""


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    missing = [n for n, s in services.items() if "healthcheck" not in s and n not in ONE_OFF]
    assert not missing


def test_start_order_runs_the_one_off_steps_first(services: dict[str, dict[str, Any]]) -> None:
    def waits_for(name: str, target: str, condition: str) -> bool:
        return bool(services[name]["depends_on"][target]["condition"] == condition)

    assert services["temporal-admin-tools"]["entrypoint"] == ["/bin/sh"]
    assert waits_for("temporal-admin-tools", "postgresql", "service_healthy")
    assert waits_for("temporal", "temporal-admin-tools", "service_completed_successfully")
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-admin-tools"]["image"].startswith("temporalio/admin-tools:")
    assert services["warmline-setup"]["command"] == ["setup"]
    assert waits_for("warmline-setup", "temporal", "service_healthy")
    for name in ("warmline-worker", "warmline-api"):
        assert waits_for(name, "warmline-setup", "service_completed_successfully")
    # One-off steps may be retried while their dependency settles, but never loop for ever.
    for name in ONE_OFF:
        assert str(services[name]["restart"]).startswith("on-failure:")
    script = services["temporal-admin-tools"]["command"][0]
    mounts = dict(str(v).split(":")[:2] for v in services["temporal-admin-tools"]["volumes"])
    source = next(src for src, dst in mounts.items() if dst == script)
    text = (DOCKER / source).read_text(encoding="utf-8")
    assert "setup-schema" in text and "update-schema" in text
    assert "/versioned" in text and ":visibility" in text and ":temporal" in text


def test_dynamic_config_has_no_development_only_keys() -> None:
    config = load_yaml(DOCKER / "temporal/dynamicconfig/production.yaml")
    # Temporal's own samples mark this key "Dev setup only. Please don't turn this on in
    # production."
    assert "system.forceSearchAttributesCacheRefreshOnRead" not in config
    assert config["limit.maxIDLength"] == [{"value": 255}]


def test_workers_outlast_their_graceful_shutdown(services: dict[str, dict[str, Any]]) -> None:
    grace = services["warmline-worker"]["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace[:-1]) > Settings().worker_graceful_shutdown_seconds


def test_workers_scale_and_run_the_right_commands(services: dict[str, dict[str, Any]]) -> None:
    worker, api = services["warmline-worker"], services["warmline-api"]
    assert worker["command"] == ["worker"]
    assert api["command"] == ["api"]
    assert "replicas" in worker["deploy"]
    # Replicas cannot share a fixed name or a host port.
    assert "container_name" not in worker
    assert "ports" not in worker
    for service in (worker, api):
        env = environment(service)
        assert env["WARMLINE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "temporal:7233" in env["WARMLINE_TEMPORAL_ADDRESS"]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert int(environment(api)["WARMLINE_API_PORT"]) in container_ports(api)
    assert int(environment(worker)["WARMLINE_METRICS_PORT"]) in container_ports(worker)


def test_bind_mounts_point_at_files_in_the_repo(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"


def test_committed_dashboards_match_the_code(tmp_path: Path) -> None:
    """The provisioned JSON is generated; regenerate it with
    ``python -m dashboards.push --export docker/grafana/dashboards``."""
    fresh = {p.name: p.read_text(encoding="utf-8") for p in export_dashboards(tmp_path)}
    committed = {
        p.name: p.read_text(encoding="utf-8") for p in (DOCKER / "grafana/dashboards").glob("*")
    }
    assert set(committed) == set(fresh), "stale or missing dashboard files"
    for name, text in fresh.items():
        assert committed[name] == text, f"{name} is stale: re-export the dashboards"


def test_prometheus_scrapes_the_ports_compose_exposes(
    services: dict[str, dict[str, Any]],
) -> None:
    config = load_yaml(DOCKER / "prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"warmline-worker", "warmline-api"} <= set(jobs)

    # Workers: DNS discovery, so every replica is a target.
    worker = services["warmline-worker"]
    for job, setting in (
        ("warmline-worker", "WARMLINE_METRICS_PORT"),
        ("warmline-worker-sdk", "WARMLINE_TEMPORAL_METRICS_PORT"),
    ):
        (worker_sd,) = jobs[job]["dns_sd_configs"]
        assert worker_sd["names"] == ["warmline-worker"]
        assert worker_sd["port"] in container_ports(worker)
        assert worker_sd["port"] == int(environment(worker)[setting])
    assert environment(worker)["WARMLINE_METRICS_HOST"] == "0.0.0.0"

    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                if host == "localhost":
                    continue
                assert host in services, f"{job['job_name']} scrapes unknown service {host}"
                assert int(port) in container_ports(services[host]), target
    # The API's internal metrics port: its public port wants a credential for /metrics.
    api = environment(services["warmline-api"])
    assert jobs["warmline-api"]["static_configs"][0]["targets"] == [
        f"warmline-api:{api['WARMLINE_METRICS_PORT']}"
    ]
    assert api["WARMLINE_METRICS_PORT"] != api["WARMLINE_API_PORT"]


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards(
    services: dict[str, dict[str, Any]],
) -> None:
    provisioning = DOCKER / "grafana/provisioning"
    (datasource,) = load_yaml(provisioning / "datasources/prometheus.yaml")["datasources"]
    url = urlparse(datasource["url"])
    assert url.hostname in services
    assert url.port in container_ports(services[str(url.hostname)])
    assert datasource["isDefault"] is True

    (provider,) = load_yaml(provisioning / "dashboards/warmline.yaml")["providers"]
    mounts = dict(str(v).split(":")[:2] for v in services["grafana"]["volumes"])
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = environment(services["grafana"])["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DOCKER / "grafana/dashboards" / Path(home).name).is_file()


def test_databases_come_from_the_init_script(services: dict[str, dict[str, Any]]) -> None:
    sql = (DOCKER / "postgres/init.sql").read_text(encoding="utf-8")
    databases = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", sql))
    roles = set(re.findall(r"CREATE ROLE (\w+) LOGIN", sql))

    temporal = environment(services["temporal"])
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgresql"
    assert databases[temporal["DBNAME"]] == temporal["POSTGRES_USER"]
    assert databases[temporal["VISIBILITY_DBNAME"]] == temporal["POSTGRES_USER"]
    dynamic = Path(temporal["DYNAMIC_CONFIG_FILE_PATH"]).name
    assert isinstance(load_yaml(DOCKER / "temporal/dynamicconfig" / dynamic), dict)

    url = urlparse(
        uninterpolated(environment(services["warmline-worker"])["WARMLINE_DATABASE_URL"])
    )
    assert url.hostname == "postgresql"
    assert databases[url.path.lstrip("/")] == url.username
    assert {temporal["POSTGRES_USER"], url.username} <= roles
    # Passwords are read from the environment, never written in the script.
    assert "PASSWORD :'" in sql
    assert not re.search(r"PASSWORD\s+'", sql)


def test_env_example_documents_every_variable(compose: dict[str, Any]) -> None:
    documented = documented_vars()
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    passed_through = {
        key
        for service in compose["services"].values()
        for key, value in environment(service).items()
        if value is None
    }
    assert not (interpolated | passed_through) - documented

    settings_vars = {f"WARMLINE_{name.upper()}" for name in Settings.model_fields}
    assert not settings_vars - documented, "a Settings field is missing from .env.example"
    unknown = {v for v in documented if v.startswith("WARMLINE_")} - settings_vars
    assert unknown <= COMPOSE_ONLY_WARMLINE_VARS


def test_env_example_holds_placeholders_only() -> None:
    for line in env_example().splitlines():
        match = re.match(r"^#?\s*([A-Z0-9_]*(PASSWORD|API_KEY|TOKEN|SECRET))=(.*)$", line)
        if match:
            value = match.group(3)
            assert value.startswith(("change-me", "placeholder")), line


def test_dockerfile_builds_a_non_root_warmline_image() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, flags=re.MULTILINE)
    assert (
        "pip install --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0"
        in dockerfile
    )
    assert "pip install ." in dockerfile
    assert dockerfile.index("torch==2.13.0") < dockerfile.index("pip install .")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0"))
    assert re.search(r'^ENTRYPOINT \["warmline"\]', dockerfile, flags=re.MULTILINE)
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".git", ".venv"} <= set(ignore)

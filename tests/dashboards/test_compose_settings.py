"""Every Warmline setting documented in docker/.env.example reaches every container that reads it.

There is no container engine on the test machines, so no container starts here. Instead the
test does what ``docker compose`` does with the files: it reads ``.env.example`` as the
``.env``, interpolates ``compose.yaml`` (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``,
``$$``), and builds ``runtime.settings.Settings`` from each Warmline container's resulting
environment, exactly as the process inside would. A setting that is missing from a service,
misspelt, or arrives in a form Warmline cannot parse fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
WARMLINE_COMMANDS = (["setup"], ["worker"], ["api"])
# Set by compose.yaml itself (prometheus.yml and health checks name them; the database is the
# bundled one); .env.example says so next to each.
PINNED = {
    "WARMLINE_DATABASE_URL",
    "WARMLINE_METRICS_HOST",
    "WARMLINE_METRICS_PORT",
    "WARMLINE_TEMPORAL_METRICS_PORT",
    "WARMLINE_API_HOST",
    "WARMLINE_API_PORT",
}
# Where the stack's default differs from Warmline's own, with the value compose uses.
COMPOSE_DEFAULTS = {
    "temporal_address": "temporal:7233",
    "data_dir": Path("/var/lib/warmline"),
    "codec_cors_origins": ["http://localhost:8080"],
    "log_format": "json",
    "require_encryption": True,
}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class Unset(Exception):
    """A ``${VAR:?message}`` whose variable is unset: compose refuses to start."""


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms the stack uses."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        present, current = name in env, env.get(name, "")
        if operator is None:
            return current
        if operator == ":-":
            return current or argument
        if operator == "-":
            return current if present else argument
        if (operator == ":?" and not current) or (operator == "?" and not present):
            raise Unset(f"{name}: {argument}")
        return current

    return _VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def dotenv(include_examples: bool) -> dict[str, str]:
    """``.env.example`` as compose reads a ``.env``; with ``include_examples`` the commented
    example assignments count too, as if every documented setting were filled in."""
    pattern = r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$" if include_examples else r"^([A-Z][A-Z0-9_]*)=(.*)$"
    text = (DOCKER / ".env.example").read_text(encoding="utf-8")
    return {m.group(1): m.group(2).strip() for m in re.finditer(pattern, text, re.MULTILINE)}


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def warmline_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    found = {n: s for n, s in services.items() if s.get("command") in WARMLINE_COMMANDS}
    assert set(found) == {"warmline-setup", "warmline-worker", "warmline-api"}
    return found


def container_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    return {key: interpolate(str(value), env) for key, value in service["environment"].items()}


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings`` as a process with exactly this environment builds them."""
    import os

    for key in list(os.environ):
        if key.startswith("WARMLINE_"):
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)


def setting_vars() -> dict[str, str]:
    return {f"WARMLINE_{name.upper()}": name for name in Settings.model_fields}


def test_every_setting_is_passed_to_every_warmline_container() -> None:
    for name, service in warmline_services().items():
        env = service["environment"]
        missing = set(setting_vars()) - set(env)
        assert not missing, f"{name} never receives {sorted(missing)}"
        for var in set(setting_vars()) - PINNED:
            # Interpolated from the variable of the same name: a typo would pass nothing.
            assert re.fullmatch(rf"\$\{{{var}(:?[-?][^}}]*)?\}}", str(env[var])), (name, var)


def test_documented_values_arrive_in_each_container(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = dotenv(include_examples=True)
    assert set(setting_vars()) <= set(documented), "document every setting in .env.example"
    expected = settings_from(
        {k: v for k, v in documented.items() if k in setting_vars() and k not in PINNED},
        monkeypatch,
    )
    for name, service in warmline_services().items():
        inside = settings_from(container_env(service, documented), monkeypatch)
        for var, field in setting_vars().items():
            if var not in PINNED:
                assert getattr(inside, field) == getattr(expected, field), (name, var)
        assert inside.resolved_database_url.startswith("postgresql+psycopg://warmline:")
        assert inside.metrics_host == "0.0.0.0"


def test_unset_settings_keep_warmline_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the required values set (as right after ``cp .env.example .env``): every other
    setting arrives empty and must mean "default", not an empty value or a parse error."""
    required = dotenv(include_examples=False)
    defaults = Settings.model_construct()
    for name, service in warmline_services().items():
        inside = settings_from(container_env(service, required), monkeypatch)
        for var, field in setting_vars().items():
            if var in PINNED or var in required:
                continue
            wanted = COMPOSE_DEFAULTS.get(field, getattr(defaults, field))
            assert getattr(inside, field) == wanted, (name, var)


def test_required_secrets_stop_compose_when_unset() -> None:
    required = dotenv(include_examples=False)
    service = warmline_services()["warmline-worker"]
    for secret in ("WARMLINE_PAYLOAD_KEYS", "WARMLINE_DB_PASSWORD", "WARMLINE_ACD_URL"):
        without = {k: v for k, v in required.items() if k != secret}
        with pytest.raises(Unset, match=secret):
            container_env(service, without)


def test_codec_cors_default_admits_the_bundled_ui() -> None:
    """The UI calls the API's codec from the browser: its origin must be allowed."""
    services = compose()["services"]
    required = dotenv(include_examples=False)
    ui = container_env(services["temporal-ui"], required)
    api = container_env(services["warmline-api"], required)
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"{required['API_PUBLIC_URL']}/codec"
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    assert required["TEMPORAL_UI_PUBLIC_URL"] in api["WARMLINE_CODEC_CORS_ORIGINS"]
    assert ui["TEMPORAL_CORS_ORIGINS"] == required["TEMPORAL_UI_PUBLIC_URL"]


def test_tls_override_configures_server_and_every_client() -> None:
    override = yaml.safe_load((DOCKER / "compose.tls.yaml").read_text(encoding="utf-8"))
    services = compose()["services"]
    assert set(override["services"]) <= set(services)
    server = override["services"]["temporal"]["environment"]
    assert server["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    for name in warmline_services():
        env = override["services"][name]["environment"]
        assert env["WARMLINE_TEMPORAL_TLS"] == "true"
        assert set(env) <= set(setting_vars())
        for var in ("WARMLINE_TEMPORAL_TLS_CA", "WARMLINE_TEMPORAL_TLS_CERT"):
            mount = override["services"][name]["volumes"][0].split(":")[1]
            assert env[var].startswith(mount + "/")
    # Key material never enters git or the image.
    assert "docker/certs/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "docker/certs" in (DOCKER / "Dockerfile.dockerignore").read_text().split()

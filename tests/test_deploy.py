"""The deployment files agree with each other and with the server: image config, compose.yaml, the nginx proxy.

No Docker engine or nginx runs where the tests run; these tests read the files. The image config is loaded
through ``load_settings`` exactly as the container loads it; the proxy's redaction map is applied with
Python's ``re`` (nginx's PCRE accepts the same ``(?P<name>...)`` syntax) to the paths a token travels in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from confluence_mcp.errors import ConfigError
from confluence_mcp.server.guards import host_allowed
from confluence_mcp.settings import SECRET_KEY_ENV, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "config.docker.yaml"
NGINX = ROOT / "deploy" / "nginx.conf"
_REFERENCE = re.compile(r"\$\{(CONFLUENCE_MCP_[A-Z0-9_]+)(?::-[^}]*)?\}")
_COMPOSE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}")
# nginx variables that hold the raw request path (and so an MCP token); none may reach a log line.
_RAW_PATH_VARIABLES = ("$request", "$request_uri", "$uri", "$document_uri", "$http_referer", "$args")


def _leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{where}[{index}]")
    else:
        yield where, value


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This process's environment without any CONFLUENCE_MCP_* variable, to set the ones a test needs."""
    for name in [n for n in os.environ if n.startswith("CONFLUENCE_MCP_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def _compose_defaults(value: str, given: dict[str, str]) -> str:
    """Interpolate a compose value as ``docker compose`` would with only the ``given`` variables set."""

    def replace(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if name in given:
            return given[name]
        assert kind == "-", f"compose needs {name} set ({rest})"
        return str(rest)

    return _COMPOSE_REFERENCE.sub(replace, value)


def _settings_under_compose(environment: pytest.MonkeyPatch) -> Settings:
    service = _compose()["services"]["mcp"]
    for name, value in service["environment"].items():
        environment.setenv(name, _compose_defaults(str(value), {SECRET_KEY_ENV: "test-key"}))
    return load_settings(CONFIG)


def _nginx() -> str:
    return re.sub(r"#[^\n]*", "", NGINX.read_text(encoding="utf-8"))


def test_image_config_takes_every_value_from_the_environment() -> None:
    """Each value in deploy/config.docker.yaml is one ${CONFLUENCE_MCP_...} reference; the secret key has no default."""
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for where, value in _leaves(raw):
        assert isinstance(value, str), where
        assert _REFERENCE.fullmatch(value), f"{where}: {value!r}"
    assert raw["secrets"]["key"] == f"${{{SECRET_KEY_ENV}}}"


def test_image_config_refuses_to_start_without_the_secret_key(environment: pytest.MonkeyPatch) -> None:
    """Without CONFLUENCE_MCP_SECRET_KEY the image's config does not load, and the error names the variable."""
    with pytest.raises(ConfigError, match=SECRET_KEY_ENV):
        load_settings(CONFIG)


def test_image_config_defaults_bind_all_interfaces_keep_data_in_the_volume_and_accept_their_urls(
    environment: pytest.MonkeyPatch,
) -> None:
    """With only the key set: 0.0.0.0:8000, SQLite under /data, and the URLs handed out pass the Host check."""
    environment.setenv(SECRET_KEY_ENV, "test-key")
    settings = load_settings(CONFIG)
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 8000)
    assert settings.store_url == "sqlite:////data/confluence-mcp.db"
    assert host_allowed(urlsplit(settings.public_url).netloc, settings.server.effective_allowed_hosts)
    assert not host_allowed("evil.example", settings.server.effective_allowed_hosts)
    assert settings.upstream.allowed_hosts == ("*.atlassian.net",)


def test_compose_runs_two_replicas_on_one_redis_behind_the_proxy(environment: pytest.MonkeyPatch) -> None:
    """Two replicas built from the Dockerfile share redis:7-alpine; nginx mounts deploy/nginx.conf."""
    services = _compose()["services"]
    assert set(services) == {"redis", "mcp", "proxy"}
    assert services["redis"]["image"] == "redis:7-alpine"
    assert services["mcp"]["build"] == "."
    assert services["mcp"]["deploy"]["replicas"] == 2
    settings = _settings_under_compose(environment)
    assert urlsplit(settings.store_url)[:2] == ("redis", "redis:6379")
    assert services["proxy"]["image"].startswith("nginx:")
    mounts = [v.split(":")[:2] for v in services["proxy"]["volumes"]]
    assert ["./deploy/nginx.conf", "/etc/nginx/nginx.conf"] in mounts
    assert NGINX.is_file()


def test_compose_starts_each_service_once_what_it_needs_is_healthy() -> None:
    """Every depends_on waits for service_healthy, and every service depended on has a healthcheck."""
    services = _compose()["services"]
    image_checks = "HEALTHCHECK" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    waits = [(name, needed) for name, s in services.items() for needed in s.get("depends_on", {})]
    assert {needed for _, needed in waits} == {"redis", "mcp"}
    for name, needed in waits:
        assert services[name]["depends_on"][needed] == {"condition": "service_healthy"}, (name, needed)
        built_here = services[needed].get("build") == "."
        assert "healthcheck" in services[needed] or (built_here and image_checks), needed
    assert "healthcheck" in services["proxy"]


def test_compose_sets_only_variables_the_image_config_reads() -> None:
    """Each CONFLUENCE_MCP_* variable compose gives the replicas is one deploy/config.docker.yaml reads."""
    read = set(_REFERENCE.findall(CONFIG.read_text(encoding="utf-8")))
    given = set(_compose()["services"]["mcp"]["environment"])
    assert given <= read, given - read
    assert SECRET_KEY_ENV in given


def test_compose_defaults_hand_out_urls_the_replicas_accept(environment: pytest.MonkeyPatch) -> None:
    """The public URL's host, as nginx passes it ($host, no port), is in the replicas' allowed hosts."""
    settings = _settings_under_compose(environment)
    hostname = urlsplit(settings.public_url).hostname
    assert hostname is not None
    assert host_allowed(hostname, settings.server.effective_allowed_hosts), (hostname, settings.server)
    published = _compose()["services"]["proxy"]["ports"][0]
    assert urlsplit(settings.public_url).port == int(_compose_defaults(published, {}).split(":")[1])


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/mcp/cmcp_secret", "/mcp/<redacted>"),
        ("/mcp/cmcp_secret?x=1", "/mcp/<redacted>?x=1"),
        ("/mcp/cmcp_secret/", "/mcp/<redacted>/"),
        (
            "/.well-known/oauth-protected-resource/mcp/cmcp_secret",
            "/.well-known/oauth-protected-resource/mcp/<redacted>",
        ),
        ("/healthz", "/healthz"),
        ("/integrated-account/acc_1/mcp", "/integrated-account/acc_1/mcp"),
    ],
)
def test_proxy_logs_request_paths_with_mcp_tokens_redacted(path: str, logged: str) -> None:
    """The proxy's map rewrites the path as its log format shows it: every /mcp/<token> segment redacted."""
    block = re.search(r"\bmap\s+\$request_uri\s+\$redacted_uri\s*\{(.*?)\}", _nginx(), re.DOTALL)
    assert block is not None, "no `map $request_uri $redacted_uri` in deploy/nginx.conf"
    for pattern, template in re.findall(r'"~([^"]*)"\s+"([^"]*)"\s*;', block[1]):
        match = re.search(pattern, path)
        if match is not None:
            assert match.expand(re.sub(r"\$(\w+)", r"\\g<\1>", template)) == logged
            return
    assert re.search(r"\bdefault\s+\$request_uri\s*;", block[1])
    assert path == logged


def test_proxy_log_lines_hold_no_raw_path() -> None:
    """Every access log uses a format built on $redacted_uri; none shows the raw request line; errors stay crit."""
    text = _nginx()
    formats = dict(re.findall(r"\blog_format\s+(\S+)\s+(.*?);", text, re.DOTALL))
    assert formats, "no log_format: nginx's default 'combined' logs $request"
    for name, layout in formats.items():
        assert "$redacted_uri" in layout, name
        used = set(re.findall(r"\$\w+", layout))
        assert not used & set(_RAW_PATH_VARIABLES), (name, used & set(_RAW_PATH_VARIABLES))
    access_logs = [a.split() for a in re.findall(r"\baccess_log\s+([^;]*);", text)]
    assert access_logs
    assert all(a == ["off"] or (len(a) >= 2 and a[1] in formats) for a in access_logs), access_logs
    # nginx's error lines quote the request line: only "crit" and worse, which no request causes, may be logged.
    assert re.findall(r"\berror_log\s+([^;]*);", text) == ["/dev/stderr crit"]


def test_proxy_passes_host_to_the_replicas_and_keeps_metrics_inside() -> None:
    """nginx sends the client's Host (checked against allowed_hosts) to the mcp service's port; /metrics stays in."""
    text = _nginx()
    assert re.search(r"\bproxy_set_header\s+Host\s+\$host\s*;", text)
    target = re.search(r"\bset\s+\$confluence_mcp\s+(\S+)\s*;", text)
    assert target is not None
    exposed = re.search(r"^EXPOSE\s+(\d+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    assert exposed is not None
    assert target[1] == f"http://mcp:{exposed[1]}"
    assert "mcp" in _compose()["services"]
    assert re.search(r"location\s*=\s*/metrics\s*\{\s*return\s+404\s*;", text)

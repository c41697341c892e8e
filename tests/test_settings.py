"""Settings: embedded defaults, YAML with ${ENV}, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.errors import ConfigError
from confluence_mcp.server.app import secret_cipher
from confluence_mcp.settings import ServerSettings, UpstreamSettings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_embedded_defaults_bind_loopback_and_use_sqlite_in_data_dir(tmp_path: Path) -> None:
    """Without a file the server binds 127.0.0.1:8000 and keeps data in the data dir."""
    settings = load_settings(None, data_dir=tmp_path)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)
    assert settings.store_url == f"sqlite:///{(tmp_path / 'confluence-mcp.db').as_posix()}"
    assert settings.public_url == "http://127.0.0.1:8000"


def test_embedded_defaults_create_a_private_secret_key(tmp_path: Path) -> None:
    """On embedded defaults a key file is created with mode 0600 and reused afterwards."""
    settings = load_settings(None, data_dir=tmp_path)
    cipher = secret_cipher(settings)
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert secret_cipher(settings).decrypt(cipher.encrypt("x")) == "x"


def test_config_file_without_a_key_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a settings file but no secret key, start-up fails naming secrets.key."""
    monkeypatch.delenv("CONFLUENCE_MCP_SECRET_KEY", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text("server: {port: 9000}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"secrets\.key"):
        secret_cipher(load_settings(path))


def test_env_references_are_expanded_and_missing_ones_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """${NAME} is replaced from the environment; an unset one is an error naming the key."""
    path = tmp_path / "c.yaml"
    path.write_text("server:\n  public_url: ${PUB}\n  port: ${PORT:-8123}\n", encoding="utf-8")
    monkeypatch.setenv("PUB", "https://mcp.example.com/")
    settings = load_settings(path)
    assert settings.public_url == "https://mcp.example.com"
    assert settings.server.port == 8123
    monkeypatch.delenv("PUB")
    with pytest.raises(ConfigError, match=r"server\.public_url: environment variable PUB is not set"):
        load_settings(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("server: {port: 99999}\n", r"server\.port"),
        ("server: {prot: 1}\n", r"server\.prot: Extra inputs are not permitted"),
        ("upstream: {retry: {max_attempts: 0}}\n", r"upstream\.retry\.max_attempts"),
        ("servers: [{token: " + "t" * 32 + ", account: a, max_limit: true}]\n", r"servers\.0\.max_limit: .*not true"),
        ("- a\n", "must be a mapping"),
        ("server: [\n", "invalid YAML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    """A bad value, an unknown key or a malformed file gives a ConfigError naming what is wrong."""
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load_settings(path)


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """config.example.yaml loads with its environment references set."""
    monkeypatch.setenv("CONFLUENCE_MCP_SECRET_KEY", "k" * 43 + "=")
    settings = load_settings(ROOT / "config.example.yaml")
    assert settings.upstream.retry.enabled is False
    assert settings.upstream == UpstreamSettings()  # its upstream section shows every default, bounds included


def test_example_config_shows_the_http_limits_at_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """config.example.yaml's server limits are the defaults, as its first line says every shown value is."""
    monkeypatch.setenv("CONFLUENCE_MCP_SECRET_KEY", "k" * 43 + "=")
    shown = load_settings(ROOT / "config.example.yaml").server
    limits = (
        "max_body_bytes",
        "max_header_bytes",
        "max_header_count",
        "header_timeout_seconds",
        "body_timeout_seconds",
        "send_timeout_seconds",
        "keep_alive_timeout_seconds",
        "max_connections",
        "backlog",
    )
    assert {key: getattr(shown, key) for key in limits} == {key: getattr(ServerSettings(), key) for key in limits}

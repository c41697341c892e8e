"""upstream.allowed_hosts: the Atlassian default, entries checked at load, and the one environment override."""

from __future__ import annotations

from pathlib import Path

import pytest

from confluence_mcp.errors import ConfigError
from confluence_mcp.settings import ALLOWED_HOSTS_ENV, DEFAULT_UPSTREAM_HOSTS, load_settings


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_HOSTS_ENV, raising=False)


def test_embedded_defaults_allow_only_atlassian_hosts(tmp_path: Path) -> None:
    """Without a file, accounts may point at *.atlassian.net and api.atlassian.com, nothing else."""
    settings = load_settings(None, data_dir=tmp_path)
    assert settings.upstream.allowed_hosts == DEFAULT_UPSTREAM_HOSTS == ("*.atlassian.net", "api.atlassian.com")


def test_the_environment_widens_the_list_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS, a JSON list, replaces the default."""
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, '["127.0.0.1", "*.atlassian.net"]')
    assert load_settings(None, data_dir=tmp_path).upstream.allowed_hosts == ("127.0.0.1", "*.atlassian.net")


def test_the_environment_overrides_the_file_and_keeps_its_other_upstream_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a settings file the variable replaces upstream.allowed_hosts only."""
    path = tmp_path / "c.yaml"
    path.write_text("upstream: {allowed_hosts: ['wiki.example.com'], read_timeout: 7}\n", encoding="utf-8")
    assert load_settings(path).upstream.allowed_hosts == ("wiki.example.com",)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, '["127.0.0.1"]')
    upstream = load_settings(path).upstream
    assert (upstream.allowed_hosts, upstream.read_timeout) == (("127.0.0.1",), 7)


@pytest.mark.parametrize("value", ["127.0.0.1", '"127.0.0.1"', "[1]", '{"a": 1}', "[", ""])
def test_a_malformed_variable_is_a_config_error_naming_it(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but a JSON list of strings stops start-up with the variable's name (and its value when shown)."""
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, value)
    with pytest.raises(ConfigError, match=rf"^{ALLOWED_HOSTS_ENV}[=:]"):
        load_settings()


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ("[]", "list at least one host"),
        ("['https://acme.atlassian.net']", "is not a host name or pattern"),
        ("['127.0.0.1:8080']", "is not a host name or pattern"),
        ("['acme.atlassian.net/wiki']", "is not a host name or pattern"),
        ("[' ']", "is not a host name or pattern"),
    ],
)
def test_bad_entries_name_upstream_allowed_hosts(tmp_path: Path, entries: str, fragment: str) -> None:
    """An empty list (which used to mean any host), a URL or a port is refused at load."""
    path = tmp_path / "c.yaml"
    path.write_text(f"upstream: {{allowed_hosts: {entries}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"upstream\.allowed_hosts") as caught:
        load_settings(path)
    assert fragment in str(caught.value)


def test_entries_are_lowercased_and_ipv6_brackets_dropped(tmp_path: Path) -> None:
    """Hosts compare as DNS does, so the stored entries are in the form the guard compares."""
    path = tmp_path / "c.yaml"
    path.write_text("upstream: {allowed_hosts: ['Wiki.Example.COM', '[::1]', '*.Atlassian.net']}\n", encoding="utf-8")
    assert load_settings(path).upstream.allowed_hosts == ("wiki.example.com", "::1", "*.atlassian.net")

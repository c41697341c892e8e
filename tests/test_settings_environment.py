"""Every settings key can come from the environment, over the file; a bad value names the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from confluence_mcp.errors import ConfigError
from confluence_mcp.settings import load_settings


def test_nested_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """CONFLUENCE_MCP_<SECTION>__<KEY> sets any key; JSON for lists; CONFLUENCE_MCP_DATA_DIR the data dir."""
    monkeypatch.setenv("CONFLUENCE_MCP_SERVER__PORT", "9123")
    monkeypatch.setenv("CONFLUENCE_MCP_LIMITS__PER_SERVER_PER_MINUTE", "42")
    monkeypatch.setenv("CONFLUENCE_MCP_LOGGING__FORMAT", "json")
    monkeypatch.setenv("CONFLUENCE_MCP_SERVER__ALLOWED_ORIGINS", '["https://a.example"]')
    monkeypatch.setenv("CONFLUENCE_MCP_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.server.port == 9123
    assert settings.limits.per_server_per_minute == 42
    assert settings.logging.format == "json"
    assert settings.server.allowed_origins == ("https://a.example",)
    assert settings.data_dir == tmp_path


def test_the_environment_wins_over_the_file_and_keeps_the_file_s_other_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A deploy-time variable overrides one key; the file's neighbouring keys stay."""
    config = tmp_path / "c.yaml"
    config.write_text("secrets: {key: k}\nserver: {port: 8001, max_body_bytes: 5000}\n", encoding="utf-8")
    monkeypatch.setenv("CONFLUENCE_MCP_SERVER__PORT", "8002")
    settings = load_settings(config)
    assert (settings.server.port, settings.server.max_body_bytes) == (8002, 5000)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CONFLUENCE_MCP_SERVER__PORT", "eighty", "CONFLUENCE_MCP_SERVER__PORT=eighty: server.port: Input should be"),
        ("CONFLUENCE_MCP_SERVER__PORT", "70000", "server.port: Input should be less than or equal to 65535"),
        (
            "CONFLUENCE_MCP_LOGGING__FORMAT",
            "xml",
            "CONFLUENCE_MCP_LOGGING__FORMAT=xml: logging.format: Input should be",
        ),
        ("CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS", "[", "CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS: must be JSON"),
    ],
)
def test_a_bad_variable_names_itself_its_value_and_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    """The error starts with the variable (and its value) and says what the key expects."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert words in str(caught.value)


def test_the_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    """A bad variable stops `confluence-mcp serve` before it binds: one line on stderr, exit status 2."""
    env = {"CONFLUENCE_MCP_SERVER__PORT": "eighty", "CONFLUENCE_MCP_DATA_DIR": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "confluence_mcp", "serve"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("confluence-mcp: error: CONFLUENCE_MCP_SERVER__PORT=eighty: server.port:")
    assert "Traceback" not in done.stderr

"""The ways the CLI is started: the console script, ``python -m confluence_mcp`` and ``serve``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from confluence_mcp import __version__
from confluence_mcp.cli import main
from confluence_mcp.server.coalescing import BoundedConfig, CoalescingHttpToolsProtocol
from confluence_mcp.settings import SECRET_KEY_ENV, Settings
from confluence_mcp.store.cipher import generate_key


def test_the_console_script_runs_cli_main() -> None:
    """The installed ``confluence-mcp`` script points at ``confluence_mcp.cli:main``."""
    (script,) = entry_points(group="console_scripts", name="confluence-mcp")
    assert script.load() is main


def test_python_dash_m_prints_the_version() -> None:
    """``python -m confluence_mcp --version`` runs the same CLI."""
    out = subprocess.run(
        [sys.executable, "-m", "confluence_mcp", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"confluence-mcp {__version__}"


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the CLI lists the command groups and exits 2."""
    assert main([]) == 2
    out = capsys.readouterr().out
    for group in ("serve", "tools", "accounts", "mcp", "api-tokens"):
        assert group in out


def test_serve_runs_uvicorn_with_our_protocol_and_limits_on_the_given_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """serve runs uvicorn on --host/--port with lifespan on, the coalescing protocol and the server.* limits."""
    import uvicorn

    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server: seen.append(server.config))
    reserved: list[Settings] = []
    monkeypatch.setattr("confluence_mcp.server.listener.reserve_descriptors", reserved.append)
    monkeypatch.setattr("logging.config.dictConfig", lambda config: None)  # keep pytest's logging as it is
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    config_file = tmp_path / "c.yaml"
    config_file.write_text(
        "server: {keep_alive_timeout_seconds: 2.5, backlog: 64, max_header_count: 7}\n", encoding="utf-8"
    )
    argv = ["serve", "--config", str(config_file), "--host", "127.0.0.2", "--port", "8123", "--data-dir", str(tmp_path)]
    assert main(argv) == 3  # the patched run never starts the server, which serve reports like uvicorn
    (config,) = seen
    assert (config.host, config.port, config.lifespan) == ("127.0.0.2", 8123, "on")
    assert config.http is CoalescingHttpToolsProtocol
    assert (config.timeout_keep_alive, config.backlog, config.ws, config.server_header) == (2.5, 64, "none", False)
    assert isinstance(config, BoundedConfig)
    assert config.server_settings.max_header_count == 7
    assert callable(config.app)
    assert [settings.server.max_header_count for settings in reserved] == [7]  # the open-file limit was seen to

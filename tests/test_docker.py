"""The Dockerfile builds a working image: its steps, replayed in a fresh virtual environment, serve and stop cleanly.

No Docker engine runs where the tests run, so ``tests/support/dockerfile.py`` reads the Dockerfile and does
what the build would: the files its COPY lines name (less ``.dockerignore``) go into a directory laid out like
the image, its pip steps run in a new venv standing in for the base image's Python, and its CMD starts with
its ENV values, a free port, loopback instead of 0.0.0.0 and a generated secret key. The rules the image must
keep (non-root, health-checked, cached dependency layer, one process) are read from the same file.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from confluence_mcp.settings import SECRET_KEY_ENV
from confluence_mcp.store.cipher import generate_key
from tests.support.dockerfile import (
    Image,
    Instruction,
    copy_arguments,
    dockerignore_matcher,
    final_stage,
    new_python,
    parse,
    replay,
    shell_or_exec,
)
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
START_SECONDS = 30.0
STOP_SECONDS = 10.0


@pytest.fixture(scope="module")
def stage() -> list[Instruction]:
    """The Dockerfile's final stage, parsed."""
    return final_stage(parse(DOCKERFILE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    """The final stage replayed once for this module: files laid out, dependencies and package installed."""
    base = tmp_path_factory.mktemp("docker")
    return replay(DOCKERFILE, ROOT, base / "image", new_python(base / "python"))


def _keyword(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    assert match is not None, duration
    return float(match[1]) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match[2]]


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def _container(image: Image, log_path: Path, **overrides: str) -> Iterator[_Running]:
    """Start the image's CMD as the container would, with test substitutions; wait for /healthz under a deadline."""
    ports = {p.split("/", 1)[0] for p in image.exposed}
    port_names = [name for name, value in image.env.items() if value in ports]
    assert len(port_names) == 1, f"one ENV variable should hold the EXPOSEd port {ports}: {image.env}"
    port = free_port()
    substitutes = {port_names[0]: str(port), SECRET_KEY_ENV: generate_key()}
    # The image binds 0.0.0.0 inside its container; here the server stays on loopback.
    substitutes.update({name: "127.0.0.1" for name, value in image.env.items() if value == "0.0.0.0"})
    env = image.environment(**substitutes, **overrides)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(image.cmd, cwd=image.workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    running = _Running(process, f"http://127.0.0.1:{port}", env, log_path)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _healthy(running.url):
            assert process.poll() is None, f"the server exited with {process.returncode}:\n{running.log()}"
            assert time.monotonic() < deadline, f"no /healthz within {START_SECONDS} s:\n{running.log()}"
            time.sleep(0.05)  # a poll interval under the deadline, not a guess at start-up time
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _healthcheck(image: Image, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    timeout = _seconds(image.healthcheck_options.get("timeout", "30s"))
    return subprocess.run(
        image.healthcheck, cwd=image.workdir, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_image_serves_passes_its_healthcheck_and_stops_cleanly_on_sigterm(image: Image, tmp_path: Path) -> None:
    """The replayed image answers /healthz and /readyz, its HEALTHCHECK exits 0, and SIGTERM stops it cleanly."""
    assert image.replayed, "no RUN line installed anything"
    with _container(image, tmp_path / "server.log") as server:
        check = _healthcheck(image, server.env)
        assert check.returncode == 0, check.stdout + check.stderr
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "tools": "ok", "store": "ok"}

        server.process.send_signal(signal.SIGTERM)
        returncode = server.process.wait(timeout=STOP_SECONDS)
        # uvicorn re-raises SIGTERM once it has shut down gracefully: docker reports 143, as for any clean stop.
        assert returncode in (0, -signal.SIGTERM), server.log()
        assert "Application shutdown complete" in server.log()
        assert "Traceback" not in server.log()
        assert _healthcheck(image, server.env).returncode != 0, "the HEALTHCHECK passes with no server"


def test_image_runs_the_installed_wheel_with_its_data_in_the_volume(image: Image, tmp_path: Path) -> None:
    """The server imports the package from the venv's site-packages (not the source copy) and writes into /data."""
    located = subprocess.run(
        [str(image.python_bin / "python"), "-c", "import confluence_mcp; print(confluence_mcp.__file__)"],
        cwd=image.root,
        env=image.environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(located.stdout.strip()).is_relative_to(image.python_bin.parent), located.stdout
    assert len(image.volumes) == 1
    with _container(image, tmp_path / "server.log"):
        assert [p.name for p in image.volumes[0].iterdir() if p.suffix == ".db"] == ["confluence-mcp.db"]


def test_image_answers_mcp_only_for_the_allowed_host(image: Image, tmp_path: Path) -> None:
    """The shipped config takes the public host from the environment: /mcp answers it (404 here) and 421 others."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    with _container(image, tmp_path / "server.log", CONFLUENCE_MCP_ALLOWED_HOST="mcp.example.com") as server:
        url = f"{server.url}/mcp/cmcp_{'x' * 40}"
        known = httpx.post(url, json=body, headers={**headers, "Host": "mcp.example.com"}, timeout=5)
        other = httpx.post(url, json=body, headers={**headers, "Host": "evil.example"}, timeout=5)
    assert (known.status_code, other.status_code) == (404, 421), (known.text, other.text)


def test_base_image_is_slim_python(stage: list[Instruction]) -> None:
    """The final stage starts from a slim CPython 3.11 or 3.12 image."""
    assert re.fullmatch(r"python:3\.1[12]-slim(\S*)?( AS \w+)?", stage[0].arguments, re.IGNORECASE), stage[0]


def test_final_stage_runs_as_a_non_root_user(stage: list[Instruction]) -> None:
    """The last USER of the final stage is neither root nor uid 0, and a RUN line creates it."""
    users = _keyword(stage, "USER")
    assert users, "the final stage has no USER: the server would run as root"
    name = users[-1].arguments.split(":", 1)[0]
    assert name not in ("root", "0"), users[-1]
    creates = re.compile(rf"\b(useradd|adduser)\b.*\s{re.escape(name)}")
    assert any(creates.match(part.strip()) for r in _keyword(stage, "RUN") for part in r.arguments.split("&&")), name


def test_final_stage_health_checks_and_exposes_the_port_it_binds(stage: list[Instruction]) -> None:
    """HEALTHCHECK asks /healthz; EXPOSE names the port the ENV gives the server; it binds all interfaces."""
    checks = _keyword(stage, "HEALTHCHECK")
    assert len(checks) == 1, "one HEALTHCHECK"
    assert "/healthz" in checks[0].arguments
    assert "curl" not in checks[0].arguments, "slim images have no curl"
    assert "wget" not in checks[0].arguments, "slim images have no wget"
    env = dict(item.split("=", 1) for e in _keyword(stage, "ENV") for item in shlex.split(e.arguments))
    exposed = [p.split("/", 1)[0] for e in _keyword(stage, "EXPOSE") for p in e.arguments.split()]
    assert exposed == [env["CONFLUENCE_MCP_PORT"]]
    assert env["CONFLUENCE_MCP_HOST"] == "0.0.0.0"
    assert not any("SECRET" in name for name in env), "the image must not carry a secret"


def test_dependencies_install_in_a_layer_before_the_source_is_copied(stage: list[Instruction]) -> None:
    """The first pip install runs with only pyproject.toml copied; the package installs after src/ without deps."""
    copies = {i: copy_arguments(s)[0] for i, s in enumerate(stage) if s.keyword == "COPY"}
    installs = [i for i, s in enumerate(stage) if s.keyword == "RUN" and "pip install" in s.arguments]
    source = next(i for i, sources in copies.items() if any(s.rstrip("/") == "src" for s in sources))
    assert installs, "no RUN pip install"
    assert installs[0] < source, "dependencies must install before COPY src"
    assert [s for i, sources in copies.items() if i < installs[0] for s in sources] == ["pyproject.toml"]
    assert all("--no-deps" in stage[i].arguments for i in installs if i > source)


def test_one_process_in_exec_form(stage: list[Instruction]) -> None:
    """CMD starts ``confluence-mcp serve`` itself (exec form, PID 1, gets SIGTERM); no ENTRYPOINT wraps it."""
    commands = _keyword(stage, "CMD")
    assert len(commands) == 1
    assert commands[0].arguments.startswith("["), "shell form would make /bin/sh PID 1 and swallow SIGTERM"
    assert shell_or_exec(commands[0].arguments)[:2] == ["confluence-mcp", "serve"]
    assert not _keyword(stage, "ENTRYPOINT")


def test_dockerignore_keeps_local_state_out() -> None:
    """The build context leaves out the venv, node_modules, data, .git and caches, and keeps what COPY names."""
    matcher = dockerignore_matcher((ROOT / ".dockerignore").read_text(encoding="utf-8"))
    assert matcher is not None
    for path in (".venv/bin/python", "tests/clients/node_modules/x", "data/secret.key", ".git/HEAD"):
        assert matcher.fullmatch(path), path
    assert matcher.fullmatch("src/confluence_mcp/__pycache__/cli.cpython-311.pyc")
    for path in ("pyproject.toml", "README.md", "src/confluence_mcp/cli/serve.py", "openapi/confluence.yaml"):
        assert not matcher.fullmatch(path), path

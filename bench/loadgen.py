"""A lean HTTP/1.1 keep-alive load client: one connection per worker, so the client is not the bottleneck."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    """Return a port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_for_port(port: int, deadline: float) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; raise after ``deadline``."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            await asyncio.sleep(0.005)


@dataclass(frozen=True, slots=True)
class Target:
    """One request to repeat: raw bytes ready to write on a keep-alive connection."""

    host: str
    port: int
    raw: bytes

    @classmethod
    def build(cls, host: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Target:
        """Serialize the request once."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        return cls(host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


@dataclass
class Result:
    """Latencies (seconds) and failures of a run."""

    latencies: list[float]
    errors: int
    elapsed: float
    last_status: int = 0
    last_body: bytes = b""

    @property
    def throughput(self) -> float:
        """Completed requests per second."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Return the p-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[index] * 1000

    def summary(self, label: str) -> dict[str, Any]:
        """Return the figures a report keeps: rate, p50 and p99 in ms, errors."""
        return {
            "label": label,
            "calls_per_s": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 3),
            "p99_ms": round(self.percentile(99), 3),
            "errors": self.errors,
        }


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length) if length else b""


async def run_load(target: Target, *, concurrency: int, requests: int, expect: int = 200) -> Result:
    """Send ``requests`` requests over ``concurrency`` keep-alive connections; return latencies."""
    latencies: list[float] = []
    errors = 0
    remaining = requests
    last: list[tuple[int, bytes]] = []

    async def worker() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection(target.host, target.port)
        try:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                status, body = await _exchange(reader, writer, target.raw)
                latencies.append(time.perf_counter() - start)
                if status != expect:
                    errors += 1
                    last[:] = [(status, body)]
                elif not last:
                    last.append((status, body))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    status, body = last[0] if last else (0, b"")
    return Result(latencies=latencies, errors=errors, elapsed=elapsed, last_status=status, last_body=body)


async def run_load_httpx(target: Target, *, concurrency: int, requests: int, expect: int = 200) -> Result:
    """The same load through httpx: one AsyncClient (one keep-alive connection) per worker."""
    import httpx

    head, _, body = target.raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode().split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    skip = {"host", "connection", "content-length"}
    headers = {k: v.strip() for k, _, v in (h.partition(":") for h in header_lines) if k.lower() not in skip}
    url = f"http://{target.host}:{target.port}{path}"
    latencies: list[float] = []
    errors = 0
    remaining = requests
    last: list[tuple[int, bytes]] = []

    async def worker() -> None:
        nonlocal remaining, errors
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                response = await client.request(method, url, headers=headers, content=body or None)
                latencies.append(time.perf_counter() - start)
                if response.status_code != expect:
                    errors += 1
                    last[:] = [(response.status_code, response.content)]
                elif not last:
                    last.append((response.status_code, response.content))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    status, content = last[0] if last else (0, b"")
    return Result(latencies=latencies, errors=errors, elapsed=elapsed, last_status=status, last_body=content)

"""``LeanTransport``: an asyncio-native HTTP/1.1 keep-alive pool under the shared ``httpx.AsyncClient``.

httpx's default transport (httpcore over anyio) spends about a millisecond of CPU per request, mostly in
per-operation cancel scopes; this one runs each connection as an ``asyncio.Protocol`` that fills a buffer and
wakes one future, and bounds a whole exchange with a single timer. Errors are httpx's own
(``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``, ``ReadTimeout``, ``WriteError``, ``ReadError``,
``RemoteProtocolError``), so the client code maps them as it would httpcore's. Given a ``HostPolicy``, it connects
only to addresses the SSRF guard allowed (``guard.py``) and raises ``UpstreamRefused`` for the others. A body over
``max_response_bytes`` raises ``UpstreamResponseTooLarge`` and its connection is closed, not pooled.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
from collections.abc import Sequence
from typing import Final

import httpx

from confluence_mcp.policy.hosts import HostPolicy, site_refusal
from confluence_mcp.upstream.connection import Connection, Origin
from confluence_mcp.upstream.guard import Resolver, checked_addresses, refused, system_resolver
from confluence_mcp.upstream.http11 import ResponseHead, encode_request

__all__ = ["LeanTransport"]

_DEFAULT_PORTS: Final = {b"http": 80, b"https": 443}
# A request that failed on a reused connection before any answer byte may go again on a fresh one.
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_STALE_ERRORS: Final = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class LeanTransport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 keep-alive connection pool for ``httpx.AsyncClient``, native to asyncio (and uvloop).

    Timeouts and limits come from this constructor; the client's ``timeout=`` and ``limits=`` do not apply.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 30.0,
        max_response_bytes: int = 20_000_000,
        ssl_context: ssl.SSLContext | None = None,
        hosts: HostPolicy | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        """Pool up to ``max_connections`` (keeping ``max_keepalive_connections`` idle for ``keepalive_expiry`` s).

        ``connect_timeout`` bounds the wait for a pool slot and, separately, name resolution plus the TCP and TLS
        connect; ``read_timeout`` bounds each exchange from the request write to the last response byte.
        ``hosts`` is the SSRF guard's policy (the app always passes one; without it any host is reached, as tests
        and benchmarks on loopback want); ``resolver`` turns a host into the addresses to connect to.
        ``max_response_bytes`` bounds each response body as received (decoding is left to the caller).
        """
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._max_idle = max(max_keepalive_connections, 0)
        self._keepalive_expiry = keepalive_expiry
        self._max_response_bytes = max_response_bytes
        if ssl_context is None:
            ssl_context = ssl.create_default_context()
            ssl_context.set_alpn_protocols(["http/1.1"])
        self._ssl_context = ssl_context
        self._hosts = hosts
        self._resolver = resolver
        self._idle: dict[Origin, list[Connection]] = {}
        self._idle_count = 0
        self._open: set[Connection] = set()
        self._slots_used = 0  # open connections plus connects in progress
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._next_sweep = 0.0
        self._closed = False

    @property
    def connections(self) -> int:
        """Open connections (idle or busy) plus connects in progress."""
        return self._slots_used

    @property
    def idle_connections(self) -> int:
        """Open connections waiting in the pool for a request."""
        return self._idle_count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled connection and return the response with its body read."""
        if self._closed:
            raise RuntimeError("LeanTransport is closed")
        url = request.url
        scheme = url.raw_scheme
        port = url.port or _DEFAULT_PORTS.get(scheme)
        if port is None:
            raise httpx.UnsupportedProtocol(f"LeanTransport speaks http and https, not {scheme!r}", request=request)
        origin = (scheme, url.raw_host.decode("ascii"), port)
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        method = request.method
        data = encode_request(method.encode("ascii"), url.raw_path, request.headers.raw, body, url.netloc)
        head, content = await self._roundtrip(origin, method, data, request)
        extensions = {"http_version": head.http_version, "reason_phrase": head.reason}
        # stream= (not content=) so that httpx adds no Content-Length and decodes any Content-Encoding
        # while the client reads the body, exactly as it does for its default transport's responses.
        return httpx.Response(
            head.status, headers=head.headers, stream=httpx.ByteStream(content), extensions=extensions
        )

    async def send_raw(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
        netloc: bytes,
        *,
        deadline: float | None = None,
    ) -> tuple[ResponseHead, bytes]:
        """Send one request without building httpx Request/Response objects (the proxy's hot path).

        ``target`` is the encoded path and query; the body comes back exactly as sent (no decoding).
        Errors are the same httpx exceptions as ``handle_async_request`` raises. ``deadline`` (event-loop time)
        bounds the whole exchange, the wait for a connection included: past it, ``TimeoutError`` is raised, as
        ``asyncio.timeout_at`` would, and the connection in use is closed.
        """
        if self._closed:
            raise RuntimeError("LeanTransport is closed")
        data = encode_request(method.encode("ascii"), target, headers, body, netloc)
        return await self._roundtrip(origin, method, data, None, deadline)

    async def _roundtrip(
        self, origin: Origin, method: str, data: bytes, request: httpx.Request | None, deadline: float | None = None
    ) -> tuple[ResponseHead, bytes]:
        head_request = method == "HEAD"
        fresh = False
        while True:
            connection = None if fresh else self._take_idle(origin)
            if connection is None:
                if deadline is None:
                    connection = await self._connect(origin, request, fresh=fresh)
                else:  # only on the way to a new connection: a reused one needs no second timer
                    async with asyncio.timeout_at(deadline):
                        connection = await self._connect(origin, request, fresh=fresh)
            try:
                return await connection.roundtrip(
                    data,
                    head_request,
                    self._read_timeout,
                    request,
                    max_body=self._max_response_bytes,
                    deadline=deadline,
                )
            except _STALE_ERRORS:
                connection.close(abort=True)
                # The server closed this idle connection as we reused it: nothing was answered, so an idempotent
                # request may go again, once, on a new connection.
                if self._closed or fresh or not connection.served or connection.received or method not in _IDEMPOTENT:
                    raise
                fresh = True
            except BaseException:  # a timeout, a protocol error or a cancellation: the connection is unusable
                connection.close(abort=True)
                raise

    async def aclose(self) -> None:
        """Close every connection, idle or busy, and wait until their sockets are released."""
        self._closed = True
        connections = list(self._open)
        waiters: list[asyncio.Future[None]] = []
        for connection in connections:
            connection.shut_down = True
            if connection.transport is not None and not connection.lost:
                connection.lost_waiter = connection.loop.create_future()
                waiters.append(connection.lost_waiter)
            connection.close(abort=True)
        self._idle.clear()
        self._idle_count = 0
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if waiters:
            await asyncio.wait(waiters, timeout=5)

    # pool bookkeeping

    def _take_idle(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        expired_at = asyncio.get_running_loop().time() - self._keepalive_expiry
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            connection.idle = False
            if connection.reusable_idle(expired_at):
                return connection
            connection.close()
        return None

    def _release(self, connection: Connection) -> None:
        if self._closed or self._idle_count >= self._max_idle:
            connection.close()
            return
        now = connection.loop.time()
        connection.idle = True
        connection.idle_since = now
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1
        if now >= self._next_sweep:
            self._sweep(now)
        self._wake_one()

    def _sweep(self, now: float) -> None:
        """Close idle connections older than the keep-alive expiry, in every pool (at most once a second)."""
        self._next_sweep = now + 1.0
        expired_at = now - self._keepalive_expiry
        for idle in list(self._idle.values()):
            while idle and idle[0].idle_since <= expired_at:
                idle[0].close()

    def _discard(self, connection: Connection) -> None:
        """Forget a closed connection: out of its idle list, its slot given back, one waiter woken."""
        if connection.idle:
            connection.idle = False
            idle = self._idle.get(connection.origin)
            if idle is not None and connection in idle:
                idle.remove(connection)
                self._idle_count -= 1
        if connection.holds_slot:
            connection.holds_slot = False
            self._slots_used -= 1
            self._open.discard(connection)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _evict_one_idle(self) -> bool:
        """Close the longest-idle connection of any origin to free a slot; return whether there was one."""
        candidates = [idle[0] for idle in self._idle.values() if idle]
        if not candidates:
            return False
        min(candidates, key=lambda connection: connection.idle_since).close()
        return True

    async def _reserve_slot(self, origin: Origin, request: httpx.Request | None, *, fresh: bool) -> Connection | None:
        """Wait (within the connect timeout) for an idle connection, which is returned, or a free slot (``None``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._connect_timeout
        first = True
        while True:
            if self._closed:
                raise RuntimeError("LeanTransport is closed")
            connection = None if fresh else self._take_idle(origin)
            if connection is not None:
                return connection
            if self._slots_used < self._max_connections or self._evict_one_idle():
                self._slots_used += 1
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            if first:
                self._waiters.append(waiter)
                first = False
            else:
                self._waiters.appendleft(waiter)  # woken but beaten to the slot: wait again at the front
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            except TimeoutError:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                raise httpx.PoolTimeout(
                    f"no upstream connection became free within {self._connect_timeout}s", request=request
                ) from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken for a slot this cancelled task no longer wants: pass it on
                raise
            finally:
                timer.cancel()

    async def _connect(self, origin: Origin, request: httpx.Request | None, *, fresh: bool) -> Connection:
        """Open a connection to ``origin`` (or, unless ``fresh``, reuse one that fell idle while waiting for a slot)."""
        if self._waiters or self._slots_used >= self._max_connections:
            reused = await self._reserve_slot(origin, request, fresh=fresh)
            if reused is not None:
                return reused
        else:
            self._slots_used += 1
        loop = asyncio.get_running_loop()
        scheme, host, port = origin
        connection = Connection(loop, origin, on_close=self._discard, on_reusable=self._release)
        self._open.add(connection)
        tls = self._ssl_context if scheme == b"https" else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._open_socket(connection, scheme, host, port, tls)
        except TimeoutError as exc:
            connection.close(abort=True)
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, DNS failure, TLS handshake or certificate failure
            connection.close(abort=True)
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}", request=request) from exc
        except BaseException:
            connection.close(abort=True)
            raise
        if self._closed:  # aclose() ran while this connection was being opened
            connection.close(abort=True)
            raise RuntimeError("LeanTransport is closed")
        return connection

    async def _open_socket(
        self, connection: Connection, scheme: bytes, host: str, port: int, tls: ssl.SSLContext | None
    ) -> None:
        """Resolve ``host`` once, check it and its addresses when there is a policy, and connect to an address."""
        if self._hosts is None:
            addresses = list(await self._resolver(host, port))
        else:
            reason = site_refusal(scheme.decode("ascii"), host, self._hosts)
            if reason is not None:
                raise refused(reason)
            addresses = await checked_addresses(host, port, self._hosts, self._resolver)
        loop = asyncio.get_running_loop()
        failure: OSError = OSError(f"{host} resolved to no address")
        for address in addresses:
            try:
                # A numeric host is never resolved again; TLS verifies the certificate against the name.
                await loop.create_connection(
                    lambda: connection,
                    address,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                    flags=socket.AI_NUMERICHOST,
                )
                return
            except ssl.SSLError:
                raise  # the server answered and failed TLS: another address of it would not do better
            except OSError as exc:
                failure = exc
        raise failure


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())

"""The SSRF guard at connect time: resolve the site's name once, check every address, connect only to those.

An account's host was checked when it was saved, but DNS may answer differently when we connect (DNS rebinding:
a public name that now resolves to 127.0.0.1 or 10.x). Checking a name and then letting the socket layer resolve
it again would leave a window for a second, different answer, so both transports resolve the name themselves,
ask ``policy.hosts`` about the name and about each address, and open the socket to a checked address. TLS still
verifies the certificate against the name, SNI and the Host header still carry the name.

``LeanTransport`` (``transport.py``) calls ``checked_addresses`` in its connect. For httpx's own transport,
``GuardedHttpTransport`` gives httpcore's pool a network backend that does the same in ``connect_tcp``, the one
place httpcore opens TCP connections. A refusal is an ``UpstreamRefused`` naming the host and why; it never
names the resolved address.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import httpx

from confluence_mcp.errors import UpstreamRefused
from confluence_mcp.policy.hosts import HostPolicy, address_refusal, site_refusal
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.tls import upstream_ssl_context

__all__ = [
    "GuardedBackend",
    "GuardedHttpTransport",
    "Resolver",
    "checked_addresses",
    "host_policy",
    "refused",
    "system_resolver",
]

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port)`` -> the IP addresses to try, in order; raises ``OSError`` when the name does not resolve."""


def host_policy(settings: UpstreamSettings) -> HostPolicy:
    """Return the policy the transports enforce: the accounts' allow-list, the media hosts downloads follow, and the
    API gateway named exactly."""
    # The admin rules check accounts against allowed_hosts alone, so a media host never becomes an account's site.
    gateway = (settings.gateway_host,) if settings.gateway_host else ()
    return HostPolicy((*settings.allowed_hosts, *settings.media_hosts, *gateway), settings.allow_http)


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the running loop's ``getaddrinfo`` (TCP), keeping the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refused(reason: str) -> UpstreamRefused:
    """Return the tool error for a connection the policy refuses."""
    return UpstreamRefused(
        f"Refused to connect to Confluence: {reason}. Nothing was sent; the operator must correct the account's "
        "instance_url or upstream.allowed_hosts."
    )


async def checked_addresses(host: str, port: int, policy: HostPolicy, resolver: Resolver) -> list[str]:
    """Resolve ``host`` and return its addresses if every one is allowed; raise UpstreamRefused otherwise.

    One refused address refuses the host: a public name with one private address is not a site we serve.
    """
    addresses = list(await resolver(host, port))
    if not addresses:
        raise OSError(f"{host} resolved to no address")
    for address in addresses:
        reason = address_refusal(host, address, policy)
        if reason is not None:
            raise refused(reason)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses ``checked_addresses`` allowed."""

    def __init__(
        self,
        policy: HostPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve and check ``host``, then connect to its first address that answers (within ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                addresses = await checked_addresses(host, port, self._policy, self._resolver)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            left = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                return await self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # addresses is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface passes it
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refuse: an account's site is never a Unix socket."""
        raise httpcore.ConnectError("upstream connections to Unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does (httpcore's connect retries use it)."""
        await self._inner.sleep(seconds)


class GuardedHttpTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (httpcore's pool) with the SSRF guard: names checked per request, addresses per connect."""

    def __init__(self, settings: UpstreamSettings, *, resolver: Resolver = system_resolver) -> None:
        ssl_context = upstream_ssl_context(settings)
        super().__init__(verify=ssl_context, trust_env=False)
        self._policy = host_policy(settings)
        # httpx takes no network backend argument, so the pool it built above (no socket opened yet) is replaced
        # by one with ours and the limits the client would otherwise have passed it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
            keepalive_expiry=settings.keepalive_expiry,
            network_backend=GuardedBackend(self._policy, resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse a request whose scheme and host the policy refuses; send the rest through the guarded pool."""
        reason = site_refusal(request.url.scheme, request.url.raw_host.decode("ascii"), self._policy)
        if reason is not None:
            raise refused(reason)
        return await super().handle_async_request(request)

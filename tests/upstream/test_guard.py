"""The SSRF guard at connect time, on both senders: names resolved once, every address checked, checked ones used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from confluence_mcp.errors import UpstreamConnectionError, UpstreamRefused
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.client import open_sender
from confluence_mcp.upstream.guard import GuardedHttpTransport, Resolver, host_policy
from confluence_mcp.upstream.httpx_sender import HttpxSender, build_http_client
from confluence_mcp.upstream.pooled import PooledSender
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import Sender
from confluence_mcp.upstream.target import Target
from confluence_mcp.upstream.transport import LeanTransport
from tests.support.dns import FakeDns

pytestmark = pytest.mark.anyio

GET = UpstreamRequest("GET", "/wiki/api/v2/spaces", [], {}, None, False)
KINDS = ["lean", "httpx"]


@pytest.fixture
def anyio_backend() -> str:
    """Run on asyncio, as uvicorn does."""
    return "asyncio"


@dataclass
class Upstream:
    """A loopback HTTP server that counts connections and keeps each request head."""

    port: int = 0
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """A counting server on 127.0.0.1."""
    server = Upstream()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


def _sender(kind: str, settings: UpstreamSettings, resolver: Resolver) -> Sender:
    if kind == "lean":
        return PooledSender(
            LeanTransport(connect_timeout=2, read_timeout=5, hosts=host_policy(settings), resolver=resolver), settings
        )
    return HttpxSender(build_http_client(settings, GuardedHttpTransport(settings, resolver=resolver)), settings)


@asynccontextmanager
async def _opened(sender: Sender) -> AsyncIterator[Sender]:
    try:
        yield sender
    finally:
        await sender.aclose()


def _target(url: str) -> Target:
    return Target.basic(url, "me@example.com", "ATATT3x-guard-canary")


INWARD = [
    ["127.0.0.1"],
    ["10.0.0.5"],
    ["169.254.169.254"],
    ["::1"],
    ["::ffff:127.0.0.1"],
    ["0.0.0.0"],
    ["104.192.141.1", "127.0.0.1"],  # one inward address among public ones refuses the name
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("addresses", INWARD, ids=lambda a: ",".join(a))
async def test_a_public_name_that_resolves_inward_is_refused_before_connecting(
    upstream: Upstream, kind: str, addresses: list[str]
) -> None:
    """DNS rebinding: *.atlassian.net passes by name, but a loopback, private or metadata answer refuses it."""
    dns = FakeDns({"rebind.atlassian.net": addresses})
    async with _opened(_sender(kind, UpstreamSettings(), dns)) as sender:
        with pytest.raises(UpstreamRefused) as refused:
            await sender.send(_target(f"https://rebind.atlassian.net:{upstream.port}"), GET)
    message = str(refused.value)
    assert "'rebind.atlassian.net'" in message
    assert "upstream.allowed_hosts" in message
    assert all(address not in message for address in addresses)
    assert upstream.connections == 0
    assert dns.lookups == ["rebind.atlassian.net"]


@pytest.mark.parametrize("kind", KINDS)
async def test_an_exactly_allowed_name_is_connected_to_the_address_it_was_resolved_to(
    upstream: Upstream, kind: str
) -> None:
    """The socket goes to the checked address with no second lookup; the Host header keeps the name."""
    dns = FakeDns({"wiki.corp.example": ["127.0.0.1"]})  # the system resolver has never heard of this name
    settings = UpstreamSettings(allowed_hosts=("wiki.corp.example",))
    async with _opened(_sender(kind, settings, dns)) as sender:
        response = await sender.send(_target(f"http://wiki.corp.example:{upstream.port}"), GET)
        again = await sender.send(_target(f"http://wiki.corp.example:{upstream.port}"), GET)
    assert (response.status, again.status) == (200, 200)
    assert f"\r\nHost: wiki.corp.example:{upstream.port}\r\n".encode() in upstream.heads[0]
    assert dns.lookups == ["wiki.corp.example"] * upstream.connections


@pytest.mark.parametrize("kind", KINDS)
async def test_the_next_checked_address_is_tried_when_one_refuses(upstream: Upstream, kind: str) -> None:
    """A name with several allowed addresses connects to the first that accepts (the server listens on .1 only)."""
    dns = FakeDns({"wiki.corp.example": ["127.0.0.2", "127.0.0.1"]})
    settings = UpstreamSettings(allowed_hosts=("wiki.corp.example",))
    async with _opened(_sender(kind, settings, dns)) as sender:
        response = await sender.send(_target(f"http://wiki.corp.example:{upstream.port}"), GET)
    assert response.status == 200
    assert upstream.connections == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_name_that_does_not_resolve_is_a_connection_error(upstream: Upstream, kind: str) -> None:
    """A failed lookup is Confluence being unreachable, not a refusal and not a crash."""
    dns = FakeDns({})
    async with _opened(_sender(kind, UpstreamSettings(), dns)) as sender:
        with pytest.raises(UpstreamConnectionError):
            await sender.send(_target("https://gone.atlassian.net"), GET)
    assert dns.lookups == ["gone.atlassian.net"]


@pytest.mark.parametrize("transport", ["lean", "httpx"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433"])
async def test_the_apps_senders_refuse_a_stored_loopback_site_on_default_settings(
    upstream: Upstream, transport: str, host: str
) -> None:
    """A record from before the allow-list (or written straight to the store) is refused by name at connect time."""
    settings = UpstreamSettings.model_validate({"transport": transport})
    async with _opened(open_sender(settings)) as sender:
        with pytest.raises(UpstreamRefused, match=r"upstream\.allowed_hosts"):
            await sender.send(_target(f"http://{host}:{upstream.port}"), GET)
    assert upstream.connections == 0


@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_the_apps_senders_reach_a_host_the_settings_name_exactly(upstream: Upstream, transport: str) -> None:
    """open_sender hands the settings' allow-list to the transport it builds: 127.0.0.1 listed exactly works."""
    settings = UpstreamSettings.model_validate({"transport": transport, "allowed_hosts": ["127.0.0.1"]})
    async with _opened(open_sender(settings)) as sender:
        response = await sender.send(_target(f"http://127.0.0.1:{upstream.port}"), GET)
    assert response.status == 200


@pytest.mark.parametrize("kind", KINDS)
async def test_an_internationalized_name_is_compared_as_sent_in_punycode(upstream: Upstream, kind: str) -> None:
    """Both senders check the ASCII name they connect to, so an exact entry in punycode admits it."""
    dns = FakeDns({"xn--bcher-kva.example": ["127.0.0.1"]})
    settings = UpstreamSettings(allowed_hosts=("xn--bcher-kva.example",))
    async with _opened(_sender(kind, settings, dns)) as sender:
        response = await sender.send(_target(f"http://xn--bcher-kva.example:{upstream.port}"), GET)
    assert response.status == 200

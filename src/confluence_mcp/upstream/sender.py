"""The one small interface every way of sending upstream implements, and the one place httpx errors are translated.

Two implementations exist: ``PooledSender`` (our HTTP/1.1 keep-alive pool, the default) and ``HttpxSender``
(httpx's own transport). A new transport is one module with a class that has these two methods.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from confluence_mcp import __version__
from confluence_mcp.errors import UpstreamConnectionError, UpstreamError, UpstreamResponseTooLarge, UpstreamTimeout
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.target import Target

log = logging.getLogger("confluence_mcp.upstream")

DEFAULT_HEADERS = {
    "User-Agent": f"confluence-mcp/{__version__}",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
}


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """A complete upstream answer: status, headers (lowercase names) and the decoded body."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int = 1


class Sender(Protocol):
    """Sends one request to a Confluence site and returns the whole answer; raises only UpstreamError.

    A body over ``upstream.max_response_bytes``, as received or once decoded, raises ``UpstreamResponseTooLarge``;
    an exchange longer than ``upstream.total_timeout`` (connection wait, connect, request and response) raises
    ``UpstreamTimeout``, as do the connect and read timeouts, each message naming its setting.
    """

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send ``request`` once to ``target``."""
        ...

    async def aclose(self) -> None:
        """Close every pooled connection."""
        ...


def request_headers(target: Target, request: UpstreamRequest) -> dict[str, str]:
    """Return the headers of one request: ours, the account's Authorization (if any) and the tool's header arguments."""
    # A media host's target has no Authorization: its signed URL is the credential.
    headers = (
        {"Authorization": target.authorization, **request.headers} if target.authorization else {**request.headers}
    )
    if request.has_body:
        headers["Content-Type"] = "application/json"
    return headers


def translated_error(
    exc: Exception, request: UpstreamRequest, settings: UpstreamSettings, *, target: Target | None = None
) -> UpstreamError:
    """Return the UpstreamError, naming the request and any limit hit, for what a sender caught (``SEND_ERRORS``).

    Connection and TLS failures are also logged, with the site and the cause but never a header or the query.
    """
    where = f"{request.method} {request.path}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.RemoteProtocolError | httpx.ReadError):
        site = target.netloc.decode("ascii") if target is not None else "the site"
        log.warning("upstream connection to %s failed for %s: %s", site, where, failure_cause(exc))
    if isinstance(exc, UpstreamResponseTooLarge):  # raised where the bytes are counted, which knows no request
        return UpstreamResponseTooLarge(exc.limit, where, decompressed=exc.decompressed)
    if isinstance(exc, TimeoutError):  # the sender's own deadline for the whole exchange (asyncio's timeouts)
        limit = f"upstream.total_timeout is {settings.total_timeout:g}s for the whole exchange"
        return UpstreamTimeout(f"Confluence did not answer in time for {where} (total timeout: {limit})")
    if isinstance(exc, httpx.PoolTimeout):
        busy = f"all upstream.max_connections ({settings.max_connections}) stayed busy"
        limit = f"for upstream.connect_timeout, {settings.connect_timeout:g}s"
        return UpstreamTimeout(f"no free connection to Confluence in time for {where} (pool exhausted: {busy} {limit})")
    if isinstance(exc, httpx.ConnectTimeout):
        limit = f"upstream.connect_timeout is {settings.connect_timeout:g}s"
        return UpstreamTimeout(f"Confluence did not answer in time for {where} (connect timeout: {limit})")
    if isinstance(exc, httpx.TimeoutException):  # a read or a write
        limit = f"upstream.read_timeout is {settings.read_timeout:g}s"
        return UpstreamTimeout(f"Confluence did not answer in time for {where} (read timeout: {limit})")
    if isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return UpstreamConnectionError(f"could not reach Confluence for {where}: the connection failed or was dropped")
    if isinstance(exc, UnicodeEncodeError):  # a header argument outside Latin-1 cannot be sent
        return UpstreamError(f"a header value for {where} is not Latin-1 text")
    return UpstreamError(f"request to Confluence failed for {where}: {type(exc).__name__}")


def failure_cause(exc: BaseException) -> str:
    """Return what made a connection fail, from the innermost error: a TLS verdict, an OS error or the class."""
    seen: BaseException | None = exc
    innermost: BaseException = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({seen.verify_message}); a private CA goes in upstream.ca_bundle"
        if isinstance(seen, ssl.SSLError):
            return f"TLS handshake failed ({seen.reason or type(seen).__name__})"
        innermost = seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(innermost, OSError) and innermost.errno:  # asyncio words "refused" as "Connect call failed"
        return os.strerror(innermost.errno)
    return str(innermost) or type(innermost).__name__


SEND_ERRORS = (httpx.HTTPError, UnicodeEncodeError, UpstreamResponseTooLarge, TimeoutError)
"""What a sender catches and hands to ``translated_error`` (a plain try costs nothing until it fires)."""

"""The one small interface every way of sending upstream implements, and the one place httpx errors are translated.

Two implementations exist: ``PooledSender`` (our HTTP/1.1 keep-alive pool, the default) and ``HttpxSender``
(httpx's own transport). A new transport is one module with a class that has these two methods.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from confluence_mcp import __version__
from confluence_mcp.errors import UpstreamConnectionError, UpstreamError, UpstreamTimeout
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.target import Target

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
    """Sends one request to a Confluence site and returns the whole answer; raises only UpstreamError."""

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send ``request`` once to ``target``."""
        ...

    async def aclose(self) -> None:
        """Close every pooled connection."""
        ...


def request_headers(target: Target, request: UpstreamRequest) -> dict[str, str]:
    """Return the headers of one request: ours, the account's Authorization and the tool's header arguments."""
    headers = {"Authorization": target.authorization, **request.headers}
    if request.has_body:
        headers["Content-Type"] = "application/json"
    return headers


@contextlib.contextmanager
def translated_errors(request: UpstreamRequest) -> Iterator[None]:
    """Turn httpx's exceptions (which both senders raise) into UpstreamError naming the request."""
    where = f"{request.method} {request.path}"
    try:
        yield
    except httpx.PoolTimeout as exc:
        raise UpstreamTimeout(f"no free connection to Confluence in time for {where} (pool exhausted)") from exc
    except httpx.TimeoutException as exc:
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "read"
        raise UpstreamTimeout(f"Confluence did not answer in time ({kind} timeout) for {where}") from exc
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise UpstreamConnectionError(
            f"could not reach Confluence for {where}: the connection failed or was dropped"
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"request to Confluence failed for {where}: {type(exc).__name__}") from exc
    except UnicodeEncodeError as exc:  # a header argument outside Latin-1 cannot be sent
        raise UpstreamError(f"a header value for {where} is not Latin-1 text") from exc

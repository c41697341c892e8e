"""Request guards for /mcp: the Host and Origin allow-lists, and refusals answered as JSON-RPC errors."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from confluence_mcp.asgi import Send
from confluence_mcp.errors import ConfluenceMcpError
from confluence_mcp.rpc import wire


def origin_allowed(origin: str | None, allowed: Sequence[str], allowed_hosts: Sequence[str]) -> bool:
    """Return whether a browser Origin may call us; no Origin (a non-browser client) always may.

    An Origin passes when it matches ``allowed`` or when its host is one of an explicit Host allow-list
    (our own pages). Origin equal to the Host header proves nothing: a DNS-rebinding page controls both.
    """
    if origin is None:
        return True
    if any(fnmatchcase(origin, pattern) for pattern in allowed):
        return True
    netloc = origin.split("://", 1)[-1]
    return bool(allowed_hosts) and host_allowed(netloc, allowed_hosts)


def host_allowed(host: str | None, allowed: Sequence[str]) -> bool:
    """Return whether the Host header is acceptable; an empty allow-list accepts any."""
    if not allowed:
        return True
    if host is None:
        return False
    if host.startswith("["):  # IPv6 literal: [::1]:8000
        bare = host[: host.find("]") + 1] if "]" in host else host
    else:
        bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    for pattern in allowed:
        if pattern.endswith(":*"):
            if bare == pattern[:-2]:
                return True
        elif host == pattern or fnmatchcase(host, pattern):
            return True
    return False


async def send_refusal(
    send: Send, exc: ConfluenceMcpError, *, request_id: int | str | None = None, modern: bool = False
) -> None:
    """Answer a refusal as a JSON-RPC error (``id: null`` unless known), status and headers from the error table."""
    status, body, extra = wire.error_answer(exc, request_id, modern)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

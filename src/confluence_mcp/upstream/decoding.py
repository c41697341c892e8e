"""Response bodies with their Content-Encoding undone, never inflated past ``upstream.max_response_bytes``.

Both senders ask for ``gzip, deflate`` only (``sender.DEFAULT_HEADERS``) and pass the body as received, already
counted against the limit, to ``decoded_body``. zlib's ``decompress(data, max_length)`` stops after ``max_length``
bytes of output, so a decompression bomb (megabytes of zeros packed into kilobytes) is refused after inflating one
byte past the limit, never the whole of it.
"""

from __future__ import annotations

import zlib

import httpx

from confluence_mcp.errors import UpstreamResponseTooLarge

__all__ = ["decoded_body"]


def decoded_body(body: bytes, content_encoding: str, limit: int) -> bytes:
    """Return ``body`` with a gzip or deflate coding undone, as httpx would; over ``limit`` bytes decoded, raise."""
    encoding = content_encoding.strip().lower()
    if not body or encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            return _inflated(zlib.decompressobj(16 + zlib.MAX_WBITS), body, limit)
        if encoding == "deflate":
            try:
                return _inflated(zlib.decompressobj(), body, limit)
            except zlib.error:
                return _inflated(zlib.decompressobj(-zlib.MAX_WBITS), body, limit)  # raw deflate, as some send it
    except zlib.error as exc:
        raise httpx.DecodingError(f"could not decode the {encoding} response body: {exc}") from exc
    raise httpx.DecodingError(f"unsupported Content-Encoding {encoding!r} (we only ask for gzip or deflate)")


def _inflated(inflater: zlib._Decompress, body: bytes, limit: int) -> bytes:
    data = inflater.decompress(body, limit + 1)
    if len(data) > limit:
        raise UpstreamResponseTooLarge(limit, decompressed=True)
    if not inflater.eof:  # what zlib.decompress says of a cut-short stream (bytes after its end are ignored)
        raise zlib.error("incomplete or truncated stream")
    return data

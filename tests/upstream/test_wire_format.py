"""The chunked-body parser alone: its work stays linear in the bytes received, however they are split."""

from __future__ import annotations

import tracemalloc
from typing import SupportsIndex

from confluence_mcp.upstream.http11 import ChunkedBody


class CountingBuffer(bytearray):
    """A receive buffer that counts the bytes its searches look at and its slices copy."""

    scanned = 0
    copied = 0

    def find(  # type: ignore[override]  # only the (needle, start) form the parser uses
        self, sub: bytes, start: SupportsIndex = 0
    ) -> int:
        """Search as bytearray does, counting the bytes examined (up to the end of a match, or the end)."""
        begin = int(start)
        found = super().find(sub, begin)
        self.scanned += (found + len(sub) if found >= 0 else len(self)) - begin
        return found

    def __getitem__(self, key: SupportsIndex | slice) -> int | bytearray:  # type: ignore[override]
        """Index or slice as bytearray does, counting the bytes a slice copies."""
        result = super().__getitem__(key)
        if isinstance(result, bytearray):
            self.copied += len(result)
        return result


def _one_byte_chunks(count: int, trailer: bytes = b"") -> bytes:
    return b"1\r\nx\r\n" * count + b"0\r\n" + trailer + b"\r\n"


def _feed_in_pieces(wire: bytes, size: int, buffer: bytearray) -> tuple[ChunkedBody, int]:
    """Append ``wire`` to ``buffer`` ``size`` bytes at a time, feeding after each; return the parser and the feeds."""
    parser = ChunkedBody(limit=len(wire))
    feeds = 0
    for start in range(0, len(wire), size):
        buffer += wire[start : start + size]
        feeds += 1
        if parser.feed(buffer):
            assert start + size >= len(wire)
    return parser, feeds


def test_200000_one_byte_chunks_fed_a_byte_at_a_time_cost_linear_work() -> None:
    """200,000 one-byte chunks trickled byte by byte: searches and copies stay a small multiple of the wire."""
    wire = _one_byte_chunks(200_000)
    buffer = CountingBuffer()
    parser, feeds = _feed_in_pieces(wire, 1, buffer)
    assert parser.body() == b"x" * 200_000
    assert feeds == len(wire) == 1_200_005
    assert buffer == b""
    assert buffer.scanned <= 2 * len(wire)
    assert buffer.copied <= 2 * len(wire)


def test_a_trailer_section_trickled_byte_by_byte_is_searched_once_not_again_per_byte() -> None:
    """A 60 KB trailer section arriving a byte at a time costs a few bytes of search per byte (from 0: ~1.8 GB)."""
    trailer = b"".join(b"X-Pad-%05d: %s\r\n" % (index, b"v" * 40) for index in range(1_100))
    assert 55_000 < len(trailer) < 64 * 1024
    wire = _one_byte_chunks(3, trailer)
    buffer = CountingBuffer()
    parser, _ = _feed_in_pieces(wire, 1, buffer)
    assert parser.body() == b"xxx"
    assert buffer.scanned <= 5 * len(wire)  # each search re-reads the last three bytes, where a CRLFCRLF may start


def test_many_small_chunks_cost_memory_in_proportion_to_the_body() -> None:
    """200,000 one-byte chunks arriving at once need about the body's size in memory, not 40 bytes per chunk."""
    wire = bytearray(_one_byte_chunks(200_000))
    parser = ChunkedBody(limit=len(wire))
    tracemalloc.start()
    try:
        assert parser.feed(wire)
        body = parser.body()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body == b"x" * 200_000
    assert peak < 3_000_000  # a part per chunk held some 24 MB here

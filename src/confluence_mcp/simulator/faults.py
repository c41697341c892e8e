"""Injected failures and observation: the ``FaultPlan``, rate-limit header dialects, and the request log.

A ``Fault`` matches requests by method and a path regex (``re.search``) and, ``count`` times or until cleared,
adds latency and/or replaces the answer with a 4xx/5xx, a 429 in one of four dialects, a dropped connection, or a
200 whose JSON is cut short. Latency of every matching fault adds up; the first matching fault with an answer wins,
and within one fault ``drop`` beats ``rate_limit``, which beats ``status``, which beats ``malformed_json``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import httpx

from confluence_mcp.errors import SimulatedFailure

RateLimitDialect = Literal["burst", "quota", "gateway", "pathological"]
RATE_LIMIT_DIALECTS: Final[tuple[str, ...]] = get_args(RateLimitDialect)

LONG_MAX: Final = "9223372036854775807"  # Java's Long.MAX_VALUE, seen as a live Retry-After
GATEWAY_LIMIT: Final = "360000"
QUOTA_POLICY: Final = '"tenant-app-quota";q=65000;w=3600'
SIMULATED_429_BODY: Final = b'{"message":"Rate limit exceeded (simulated)","simulated":true}'
V1_CONTENT_PATHS: Final = r"^/wiki/rest/api/content(/|$)"
"""The v1 content endpoints newer sites, and scoped and OAuth credentials everywhere, answer 410 Gone [obs]."""
GONE_MESSAGE: Final = (
    "com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed."
)

Headers = list[tuple[bytes, bytes]]

_FIELD_TYPES: Final[dict[str, type]] = {
    "method": str,
    "path": str,
    "count": int,
    "latency_ms": int,
    "status": int,
    "message": str,
    "rate_limit": str,
    "retry_after": int,
    "drop": bool,
    "malformed_json": bool,
}


class SimulatedDrop(SimulatedFailure, httpx.RemoteProtocolError):
    """The simulator dropped the connection on purpose (a ``drop`` fault).

    Over a real socket the client sees the server close mid-response; in-process through ``httpx.ASGITransport``
    this exception reaches the client itself, so both look like ``httpx.RemoteProtocolError``.
    """


@dataclass(slots=True)
class Fault:
    """One rule of a ``FaultPlan``; the constructor arguments are also the JSON keys of ``POST /__sim/faults``."""

    method: str | None = None
    """HTTP method to match (any when ``None``)."""
    path: str | None = None
    """Regular expression searched in the path (any when ``None``); anchor it with ``^…$`` for one route."""
    count: int | None = None
    """How many matching requests the fault affects before it clears itself; ``None`` means until cleared."""
    latency_ms: int = 0
    """Delay before answering."""
    status: int | None = None
    """Answer with this 4xx/5xx status and a Confluence-shaped error body."""
    message: str | None = None
    """The error message of a ``status`` fault."""
    rate_limit: RateLimitDialect | None = None
    """Answer 429 with the headers of this dialect."""
    retry_after: int | None = None
    """``Retry-After`` seconds for ``burst``/``quota`` 429s and ``status`` faults."""
    drop: bool = False
    """Close the connection without a complete response."""
    malformed_json: bool = False
    """Answer 200 with ``application/json`` and the real body cut in half."""
    _compiled: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method is not None:
            self.method = self.method.upper()
        if self.count is not None and self.count < 1:
            raise ValueError(f"Fault.count must be at least 1, not {self.count}")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"Fault.status must be a 4xx or 5xx code, not {self.status}")
        if self.rate_limit is not None and self.rate_limit not in RATE_LIMIT_DIALECTS:
            raise ValueError(
                f"Fault.rate_limit must be one of {', '.join(RATE_LIMIT_DIALECTS)}, not {self.rate_limit!r}"
            )
        if self.latency_ms < 0:
            raise ValueError(f"Fault.latency_ms must not be negative, not {self.latency_ms}")
        try:
            self._compiled = re.compile(self.path) if self.path is not None else None
        except re.error as exc:
            raise ValueError(f"Fault.path is not a regular expression: {exc}") from exc

    @property
    def answers(self) -> bool:
        """Whether this fault replaces the answer (rather than only delaying it)."""
        return self.drop or self.rate_limit is not None or self.status is not None or self.malformed_json

    def matches(self, method: str, path: str) -> bool:
        """Return whether a request ``method path`` is affected."""
        if self.method is not None and self.method != method:
            return False
        return self._compiled is None or self._compiled.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the JSON object ``POST /__sim/faults`` accepts."""
        keys = ("method", "path", "count", "latency_ms", "status", "message", "rate_limit", "retry_after", "drop")
        data = {key: getattr(self, key) for key in keys}
        data["malformed_json"] = self.malformed_json
        return data

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Build a fault from a JSON object, raising ``ValueError`` naming a bad key or value."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        allowed = set(_FIELD_TYPES)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown fault key(s): {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        for key, value in data.items():
            expected = _FIELD_TYPES[key]
            fits = (
                isinstance(value, bool)
                if expected is bool
                else isinstance(value, expected) and not isinstance(value, bool)
            )
            if value is not None and not fits:
                raise ValueError(f"fault key '{key}' must be {expected.__name__}, not {value!r}")
        return cls(**{key: value for key, value in data.items() if value is not None})


@dataclass(slots=True)
class FaultAction:
    """What the faults matching one request add up to."""

    latency_ms: int = 0
    fault: Fault | None = None


class FaultPlan:
    """An ordered list of ``Fault`` rules consulted on every Confluence request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __len__(self) -> int:
        return len(self._faults)

    @property
    def faults(self) -> list[Fault]:
        """Return a copy of the active rules in order."""
        return list(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Append ``fault`` and return it."""
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        self._faults.clear()

    def latency(
        self, ms: int, *, method: str | None = None, path: str | None = None, count: int | None = None
    ) -> Fault:
        """Delay matching requests by ``ms`` milliseconds."""
        return self.add(Fault(method=method, path=path, count=count, latency_ms=ms))

    def fail(
        self,
        status: int = 503,
        *,
        method: str | None = None,
        path: str | None = None,
        count: int | None = 1,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> Fault:
        """Answer matching requests with ``status`` and a Confluence-shaped error body."""
        return self.add(
            Fault(method=method, path=path, count=count, status=status, message=message, retry_after=retry_after)
        )

    def forbid(self, *, method: str | None = None, path: str | None = None, message: str | None = None) -> Fault:
        """Answer matching requests 403 until cleared, as for an operation the account may not perform."""
        text = message or "User is not permitted to perform this operation"
        return self.add(Fault(method=method, path=path, status=403, message=text))

    def remove_v1(self, *, path: str = V1_CONTENT_PATHS, method: str | None = None) -> Fault:
        """Answer matching requests (v1 content endpoints by default) 410 Gone until cleared, as newer sites do."""
        return self.add(Fault(method=method, path=path, status=410, message=GONE_MESSAGE))

    def rate_limit(
        self,
        dialect: RateLimitDialect = "burst",
        *,
        method: str | None = None,
        path: str | None = None,
        count: int | None = 1,
        retry_after: int | None = None,
    ) -> Fault:
        """Answer matching requests 429 with the headers of ``dialect``."""
        return self.add(Fault(method=method, path=path, count=count, rate_limit=dialect, retry_after=retry_after))

    def drop(self, *, method: str | None = None, path: str | None = None, count: int | None = 1) -> Fault:
        """Close the connection of matching requests without a complete response."""
        return self.add(Fault(method=method, path=path, count=count, drop=True))

    def malformed_json(self, *, method: str | None = None, path: str | None = None, count: int | None = 1) -> Fault:
        """Answer matching requests 200 with a truncated JSON body."""
        return self.add(Fault(method=method, path=path, count=count, malformed_json=True))

    def consume(self, method: str, path: str) -> FaultAction | None:
        """Return what applies to a request (``None`` if nothing), spending one use of each fault that acts."""
        if not self._faults:
            return None
        action: FaultAction | None = None
        spent: list[Fault] = []
        for fault in self._faults:
            if not fault.matches(method, path):
                continue
            if action is None:
                action = FaultAction()
            if fault.answers:
                if action.fault is not None:
                    continue  # shadowed by an earlier answering fault: not used, so not spent
                action.fault = fault
            action.latency_ms += fault.latency_ms
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    spent.append(fault)
        for fault in spent:
            self._faults.remove(fault)
        return action


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One Confluence request exactly as the simulator received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    """Query parameters in order, repeated keys kept."""
    headers: dict[str, str]
    """Headers with lower-cased names (repeated headers joined with ``", "``)."""
    json: Any
    """The parsed JSON body, or ``None`` when there is none or it is not JSON."""
    body: bytes

    def to_json(self) -> dict[str, Any]:
        """Return the record as ``GET /__sim/requests`` lists it (body as UTF-8 text)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "headers": self.headers,
            "json": self.json,
            "body": self.body.decode("utf-8", errors="replace"),
        }


class RateWindow:
    """Atlassian's burst headers: a per-minute budget counted down by every Confluence response."""

    def __init__(self, limit: int, *, window_seconds: int = 60) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._limit_bytes = str(limit).encode()
        self._slot = -1
        self._used = 0
        self._reset = b""

    def reset(self) -> None:
        """Start a fresh window."""
        self._slot = -1
        self._used = 0

    def tick(self) -> tuple[int, bytes]:
        """Count one request; return the remaining budget and the reset header value."""
        slot = int(time.time()) // self.window_seconds
        if slot != self._slot:
            self._slot = slot
            self._used = 0
            reset_at = datetime.fromtimestamp((slot + 1) * self.window_seconds, UTC)
            # Atlassian prints the reset without seconds when they are zero, e.g. 2026-03-26T16:00Z [obs].
            pattern = "%Y-%m-%dT%H:%MZ" if reset_at.second == 0 else "%Y-%m-%dT%H:%M:%SZ"
            self._reset = reset_at.strftime(pattern).encode()
        self._used += 1
        return max(self.limit - self._used, 0), self._reset

    def headers(self) -> Headers:
        """Count one request and return the ``X-RateLimit-*`` headers of an ordinary response."""
        remaining, reset = self.tick()
        return [
            (b"x-ratelimit-limit", self._limit_bytes),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", reset),
        ]

    def too_many(self, dialect: RateLimitDialect, retry_after: int | None) -> Headers:
        """Count one request and return the headers of a 429 in ``dialect`` (they replace the ordinary ones)."""
        _, reset = self.tick()
        wait = str(retry_after if retry_after is not None else 5).encode()
        if dialect == "burst":
            return [
                (b"retry-after", wait),
                (b"x-ratelimit-limit", self._limit_bytes),
                (b"x-ratelimit-remaining", b"0"),
                (b"x-ratelimit-reset", reset),
            ]
        if dialect == "quota":
            return [
                (b"retry-after", wait),
                (b"ratelimit-policy", QUOTA_POLICY.encode()),
                (b"ratelimit", b'"tenant-app-quota";r=0;t=' + wait),
                (b"ratelimit-reason", b"confluence-quota-tenant-based"),
            ]
        if dialect == "gateway":
            # Seen live: no Retry-After at all, only these three [obs].
            return [
                (b"x-failure-category", b"FAILURE CLIENT RATE LIMITED"),
                (b"x-ratelimit-limit", GATEWAY_LIMIT.encode()),
                (b"x-ratelimit-remaining", b"0"),
            ]
        return [
            (b"retry-after", LONG_MAX.encode()),
            (b"x-ratelimit-limit", b"0"),
            (b"x-ratelimit-remaining", b"0"),
            (b"x-ratelimit-fillrate", b"0"),
            (b"x-ratelimit-interval-seconds", b"1"),
        ]

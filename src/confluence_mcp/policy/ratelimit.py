"""Every rate-limit header dialect Confluence sends, normalised to limit, remaining and reset."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RateLimit", "parse_rate_limit"]

_ENFORCED = frozenset(
    {
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-nearlimit",
        "x-ratelimit-interval-seconds",
        "ratelimit",
        "ratelimit-policy",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-reason",
    }
)
# Beta forms report what *would* have been limited before enforcement; they only fill gaps.
_BETA = frozenset(
    {
        "beta-retry-after",
        "beta-ratelimit",
        "beta-ratelimit-policy",
        "x-beta-ratelimit-limit",
        "x-beta-ratelimit-remaining",
        "x-beta-ratelimit-reset",
        "x-beta-ratelimit-nearlimit",
        "x-beta-ratelimit-reason",
    }
)
_NAMES = _ENFORCED | _BETA

_COUNT = re.compile(r"[0-9]+")
_SECONDS = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?")
# One structured-field token: a quoted string (its closing quote optional), a run of plain text, or a separator.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[^",;]+|[,;]')
_ESCAPE = re.compile(r"\\(.)")
# Digit runs longer than this saturate: int() refuses over 4300 digits, and any such value is clamped anyway.
_MAX_DIGITS = 18
_HUGE = 10**_MAX_DIGITS
# X-RateLimit-Reset numbers at or above this are epoch seconds (GitHub style), below it delta seconds.
_EPOCH_FLOOR = 1_000_000_000

_Members = list[tuple[str, dict[str, str]]]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Rate-limit figures of one upstream response, whatever dialect carried them."""

    limit: int | None
    """Requests or points allowed in the window; None if unknown (a limit of 0 counts as unknown)."""
    remaining: int | None
    """Requests or points left in the window."""
    reset: int | None
    """Whole seconds until the window resets, between 0 and the parser's max_reset."""
    retry_after: int | None
    """Whole seconds to wait before retrying, from the enforced Retry-After only."""
    window: int | None
    """Policy window in seconds, when the upstream names one."""
    near_limit: bool
    """Upstream flagged the limit as near, or under 20% of the limit remains."""
    reason: str | None
    """RateLimit-Reason as sent, e.g. confluence-quota-tenant-based."""

    def headers(self) -> dict[str, str]:
        """Return the known figures as ratelimit-limit/-remaining/-reset and retry-after response headers."""
        out: dict[str, str] = {}
        if self.limit is not None:
            out["ratelimit-limit"] = str(self.limit)
        if self.remaining is not None:
            out["ratelimit-remaining"] = str(self.remaining)
        if self.reset is not None:
            out["ratelimit-reset"] = str(self.reset)
        if self.retry_after is not None:
            out["retry-after"] = str(self.retry_after)
        return out

    def meta(self) -> dict[str, int | bool | str]:
        """Return the known figures for a tool result's _meta; near_limit appears only when true."""
        out: dict[str, int | bool | str] = {}
        if self.limit is not None:
            out["limit"] = self.limit
        if self.remaining is not None:
            out["remaining"] = self.remaining
        if self.reset is not None:
            out["reset"] = self.reset
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        if self.near_limit:
            out["near_limit"] = True
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class _Quota:
    """Figures one IETF RateLimit/RateLimit-Policy pair yields."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None
    window: int | None = None


_NO_QUOTA = _Quota()


def parse_rate_limit(headers: Mapping[str, str], *, now: datetime, max_reset: int = 3600) -> RateLimit | None:
    """Return the rate-limit figures in headers, or None when no rate-limit header is present; never raises."""
    found = _rate_limit_fields(headers)
    if found is None:
        return None
    get = found.get
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    cap = max(max_reset, 0)

    x_limit, x_window = _limit_item(get("x-ratelimit-limit"))
    draft_limit, draft_window = _limit_item(get("ratelimit-limit"))
    beta_limit, beta_window = _limit_item(get("x-beta-ratelimit-limit"))
    ietf = _ietf_quota(get("ratelimit"), get("ratelimit-policy"))
    beta = _ietf_quota(get("beta-ratelimit"), get("beta-ratelimit-policy"))

    retry_after = _clamp(_seconds_until(get("retry-after"), now, epoch=False), cap)
    # A window describes its own limit, so both come from the first source that knows the limit.
    sources = [
        (x_limit, _first(x_window, _positive(_count(get("x-ratelimit-interval-seconds"))))),
        (ietf.limit, ietf.window),
        (draft_limit, draft_window),
        (beta_limit, beta_window),
        (beta.limit, beta.window),
    ]
    limit, window = next(
        (source for source in sources if source[0] is not None),
        (None, _first(*(source_window for _, source_window in sources))),
    )
    remaining = _first(
        _count(get("x-ratelimit-remaining")),
        ietf.remaining,
        _count(get("ratelimit-remaining")),
        _count(get("x-beta-ratelimit-remaining")),
        beta.remaining,
    )
    reset = _first(
        retry_after,
        ietf.reset,
        _seconds(get("ratelimit-reset")),
        _seconds_until(get("x-ratelimit-reset"), now, epoch=True),
        _seconds_until(get("beta-retry-after"), now, epoch=False),
        beta.reset,
        _seconds_until(get("x-beta-ratelimit-reset"), now, epoch=True),
    )
    flag = get("x-ratelimit-nearlimit", get("x-beta-ratelimit-nearlimit"))
    near_limit = (flag is not None and flag.strip().lower() == "true") or (
        limit is not None and remaining is not None and remaining * 5 < limit
    )
    reason = (get("ratelimit-reason") or get("x-beta-ratelimit-reason") or "").strip() or None
    return RateLimit(
        limit=limit,
        remaining=remaining,
        reset=_clamp(reset, cap),
        retry_after=retry_after,
        window=window,
        near_limit=near_limit,
        reason=reason,
    )


def _rate_limit_fields(headers: Mapping[str, str]) -> dict[str, str] | None:
    """Return the rate-limit fields by lowercased name, or None when there are none."""
    # One pass over the names only: this runs on every upstream response and most carry no rate-limit field.
    matched = [key for key in headers if key.lower() in _NAMES]
    if not matched:
        return None
    found: dict[str, str] = {}
    for key in matched:
        name = key.lower()
        value = headers[key]
        # A plain dict may repeat a name in another case; combine as HTTP combines repeated fields.
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _first(*values: int | None) -> int | None:
    """Return the first known value."""
    for value in values:
        if value is not None:
            return value
    return None


def _clamp(seconds: int | None, cap: int) -> int | None:
    """Return seconds clamped to [0, cap]."""
    return None if seconds is None else min(max(seconds, 0), cap)


def _positive(value: int | None) -> int | None:
    """Return value unless it is 0, which upstreams send for unknown."""
    return value or None


def _count(text: str | None) -> int | None:
    """Return a non-negative integer field; None if absent or not plain digits."""
    if text is None:
        return None
    text = text.partition(",")[0].strip()
    if _COUNT.fullmatch(text) is None:
        return None
    return _HUGE if len(text) > _MAX_DIGITS else int(text)


def _seconds(text: str | None) -> int | None:
    """Return delta seconds, fractions rounded up; None if absent or not a number."""
    if text is None:
        return None
    match = _SECONDS.fullmatch(text.partition(",")[0].strip())
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    value = _HUGE if len(whole) > _MAX_DIGITS else int(whole)
    if fraction and fraction.strip("0"):
        value += 1  # waiting a little longer is safe, retrying early earns a longer Retry-After
    return -value if sign == "-" else value


def _seconds_until(text: str | None, now: datetime, *, epoch: bool) -> int | None:
    """Return delta seconds, or seconds from now to an ISO-8601 or HTTP date, rounded up; None if unparsable."""
    if text is None:
        return None
    seconds = _seconds(text)
    if seconds is not None:
        if epoch and seconds >= _EPOCH_FLOOR:
            return math.ceil(seconds - now.timestamp())
        return seconds
    moment = _moment(text.strip())
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # ISO without offset and RFC 2822 "-0000" both mean UTC here
    return math.ceil((moment - now).total_seconds())


def _moment(text: str) -> datetime | None:
    """Return the ISO-8601 (2026-03-26T16:00Z) or HTTP-date (RFC 9110) instant in text, or None."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _limit_item(text: str | None) -> tuple[int | None, int | None]:
    """Return the limit and its w= window from a field like 360000 or 110;w=10; 0 counts as unknown."""
    if text is None:
        return None, None
    if _COUNT.fullmatch(text):
        return _positive(_count(text)), None  # the common plain integer skips structured-field parsing
    members = _members(text)
    if not members:
        return None, None
    item, params = members[0]
    return _positive(_count(item)), _positive(_count(params.get("w")))


def _ietf_quota(ratelimit: str | None, policy: str | None) -> _Quota:
    """Return the figures of the tightest policy (lowest r) in a RateLimit/RateLimit-Policy pair."""
    if ratelimit is None and policy is None:
        return _NO_QUOTA
    entries = _members(ratelimit) if ratelimit is not None else []
    policies = _members(policy) if policy is not None else []
    combined = dict(_key_value(item) for item, _ in entries if _is_key_value(item))
    if combined.keys() & {"limit", "remaining", "reset"}:
        # Draft -07 dictionary form: RateLimit: limit=100, remaining=50, reset=30.
        limit = _positive(_count(combined.get("limit")))
        windows = [params.get("w") for item, params in policies if limit is not None and _count(item) == limit]
        return _Quota(limit, _count(combined.get("remaining")), _seconds(combined.get("reset")), _window(windows))
    named = [(_unquote(item), params) for item, params in entries if item and not _is_key_value(item)]
    if not named:
        if len(policies) != 1:
            return _Quota()  # several policies and no r: nothing says which one binds
        return _Quota(limit=_policy_quota(*policies[0]), window=_window([policies[0][1].get("w")]))
    name, params = min(named, key=lambda entry: _rank(_count(entry[1].get("r"))))
    # The policy field can vanish (seen at r=0); then remaining and reset stand alone.
    match = next(((item, p) for item, p in policies if _unquote(item) == name), None)
    return _Quota(
        limit=None if match is None else _policy_quota(*match),
        remaining=_count(params.get("r")),
        reset=_seconds(params.get("t")),
        window=None if match is None else _window([match[1].get("w")]),
    )


def _is_key_value(item: str) -> bool:
    """Tell a dictionary member like limit=100 from a policy name, which may be a quoted string holding '='."""
    return "=" in item and not item.startswith('"')


def _key_value(item: str) -> tuple[str, str]:
    """Split a dictionary member like limit=100."""
    key, _, value = item.partition("=")
    return key.strip().lower(), value


def _policy_quota(item: str, params: dict[str, str]) -> int | None:
    """Return a policy's quota: q= in draft -08 and later, the bare integer item in older drafts."""
    if item.startswith('"'):
        return _positive(_count(params.get("q")))
    return _positive(_count(params.get("q", item)))


def _rank(remaining: int | None) -> int | float:
    """Sort key putting the lowest r first and entries without r last."""
    return math.inf if remaining is None else remaining


def _window(texts: list[str | None]) -> int | None:
    """Return the first positive w= value."""
    return _first(*(_positive(_count(text)) for text in texts))


def _members(text: str) -> _Members:
    """Split a structured-field list into (item, parameters), honouring quotes; parameter names lowercased."""
    parts: list[list[str]] = [[""]]
    for piece in _TOKEN.findall(text):
        if piece == ",":
            parts.append([""])
        elif piece == ";":
            parts[-1].append("")
        else:
            parts[-1][-1] += piece
    members: _Members = []
    for item, *raw in parts:
        params: dict[str, str] = {}
        for param in raw:
            key, _, value = param.partition("=")
            params.setdefault(key.strip().lower(), _unquote(value.strip()))
        if item.strip() or params:
            members.append((item.strip(), params))
    return members


def _unquote(text: str) -> str:
    """Return a structured-field string without its quotes and escapes; tokens unchanged."""
    if not text.startswith('"'):
        return text
    inner = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
    return _ESCAPE.sub(r"\1", inner)

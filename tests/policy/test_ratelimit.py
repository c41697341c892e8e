"""One row per rate-limit header dialect and edge case, plus a never-raises property."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confluence_mcp.policy.ratelimit import RateLimit, parse_rate_limit

NOW = datetime(2026, 3, 26, 15, 30, tzinfo=UTC)
LONG_MAX_VALUE = "9223372036854775807"
TWO_POLICIES = '"global-app-quota";q=65000;w=3600, "tenant-app-quota";q=5000;w=3600'
TWO_POLICIES_REVERSED = '"tenant-app-quota";q=5000;w=3600, "global-app-quota";q=65000;w=3600'
TWO_REMAINING = '"global-app-quota";r=50000;t=1200, "tenant-app-quota";r=400;t=600'
TWO_REMAINING_REVERSED = '"tenant-app-quota";r=400;t=600, "global-app-quota";r=50000;t=1200'


def figures(
    *,
    limit: int | None = None,
    remaining: int | None = None,
    reset: int | None = None,
    retry_after: int | None = None,
    window: int | None = None,
    near_limit: bool = False,
    reason: str | None = None,
) -> RateLimit:
    """Build an expected RateLimit with everything unknown unless named."""
    return RateLimit(
        limit=limit,
        remaining=remaining,
        reset=reset,
        retry_after=retry_after,
        window=window,
        near_limit=near_limit,
        reason=reason,
    )


DIALECTS = [
    pytest.param(
        {"Retry-After": "10", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"},
        figures(limit=100, remaining=0, reset=10, retry_after=10, near_limit=True),
        id="burst-x-ratelimit-with-retry-after-seconds",
    ),
    pytest.param(
        {"X-RateLimit-Limit": "360000", "X-RateLimit-Remaining": "300000", "X-RateLimit-Reset": "2026-03-26T16:00:00Z"},
        figures(limit=360000, remaining=300000, reset=1800),
        id="x-ratelimit-reset-iso-with-seconds",
    ),
    pytest.param(
        {"X-RateLimit-Reset": "2026-03-26T16:00Z"},
        figures(reset=1800),
        id="x-ratelimit-reset-iso-without-seconds",
    ),
    pytest.param(
        {"X-RateLimit-Reset": "2026-03-26T17:00+01:00"},
        figures(reset=1800),
        id="x-ratelimit-reset-iso-with-offset",
    ),
    pytest.param(
        {"X-RateLimit-Reset": "2026-03-26T15:30:00.250Z"},
        figures(reset=1),
        id="x-ratelimit-reset-fraction-rounds-up",
    ),
    pytest.param(
        {"X-RateLimit-Reset": str(int(NOW.timestamp()) + 90)},
        figures(reset=90),
        id="x-ratelimit-reset-epoch-seconds",
    ),
    pytest.param(
        {"X-RateLimit-Reset": "2026-03-26T15:00:00Z"},
        figures(reset=0),
        id="past-reset-is-zero",
    ),
    pytest.param(
        {"Retry-After": "Thu, 26 Mar 2026 15:31:00 GMT"},
        figures(reset=60, retry_after=60),
        id="retry-after-http-date",
    ),
    pytest.param(
        {"Retry-After": "Thu, 26 Mar 2026 15:00:00 GMT"},
        figures(reset=0, retry_after=0),
        id="retry-after-http-date-in-the-past-is-zero",
    ),
    pytest.param(
        {
            "X-RateLimit-Limit": "0",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-FillRate": "0",
            "X-RateLimit-Interval-Seconds": "1",
            "Retry-After": LONG_MAX_VALUE,
        },
        figures(remaining=0, reset=3600, retry_after=3600, window=1),
        id="retry-after-long-max-value-clamped",
    ),
    pytest.param(
        {"Retry-After": "9" * 5000},
        figures(reset=3600, retry_after=3600),
        id="retry-after-five-thousand-digits-clamped",
    ),
    pytest.param({"Retry-After": "-5"}, figures(reset=0, retry_after=0), id="negative-retry-after-is-zero"),
    pytest.param({"Retry-After": "1.2"}, figures(reset=2, retry_after=2), id="fractional-retry-after-rounds-up"),
    pytest.param({"X-RateLimit-Limit": "0"}, figures(), id="limit-zero-is-unknown"),
    pytest.param(
        {
            "X-Failure-Category": "FAILURE CLIENT RATE LIMITED",
            "X-Ratelimit-Limit": "360000",
            "X-Ratelimit-Remaining": "0",
        },
        figures(limit=360000, remaining=0, near_limit=True),
        id="gateway-429-without-retry-after",
    ),
    pytest.param(
        {"RateLimit-Policy": TWO_POLICIES, "RateLimit": TWO_REMAINING},
        figures(limit=5000, remaining=400, reset=600, window=3600, near_limit=True),
        id="ietf-two-policies-lowest-r-wins",
    ),
    pytest.param(
        {"RateLimit-Policy": TWO_POLICIES_REVERSED, "RateLimit": TWO_REMAINING_REVERSED},
        figures(limit=5000, remaining=400, reset=600, window=3600, near_limit=True),
        id="ietf-two-policies-other-order",
    ),
    pytest.param(
        {"RateLimit-Policy": TWO_POLICIES_REVERSED, "RateLimit": TWO_REMAINING},
        figures(limit=5000, remaining=400, reset=600, window=3600, near_limit=True),
        id="ietf-two-policies-orders-differ-between-fields",
    ),
    pytest.param(
        {"RateLimit-Policy": "burst;q=100;w=10", "RateLimit": "burst;r=90;t=3"},
        figures(limit=100, remaining=90, reset=3, window=10),
        id="ietf-token-policy-names",
    ),
    pytest.param(
        {"RateLimit-Policy": '"a,b;c=d";q=50;w=5', "RateLimit": '"a,b;c=d";r=40;t=2'},
        figures(limit=50, remaining=40, reset=2, window=5),
        id="ietf-quoted-name-with-separators",
    ),
    pytest.param(
        {"RateLimit": '"tenant-app-quota";r=0;t=30'},
        figures(remaining=0, reset=30),
        id="ietf-policy-field-vanished-at-r-zero",
    ),
    pytest.param(
        {"RateLimit-Policy": '"global-app-quota";q=65000;w=3600'},
        figures(limit=65000, window=3600),
        id="ietf-single-policy-without-ratelimit",
    ),
    pytest.param(
        {"RateLimit-Policy": TWO_POLICIES},
        figures(),
        id="ietf-several-policies-without-ratelimit-are-ambiguous",
    ),
    pytest.param(
        {"RateLimit": "limit=100, remaining=50, reset=30", "RateLimit-Policy": "100;w=60"},
        figures(limit=100, remaining=50, reset=30, window=60),
        id="draft-combined-ratelimit-dictionary",
    ),
    pytest.param(
        {"RateLimit-Limit": "110;w=10", "RateLimit-Remaining": "20", "RateLimit-Reset": "7"},
        figures(limit=110, remaining=20, reset=7, window=10, near_limit=True),
        id="draft-separate-limit-remaining-reset",
    ),
    pytest.param(
        {
            "Beta-RateLimit-Policy": '"global-app-quota";q=65000;w=3600',
            "Beta-RateLimit": '"global-app-quota";r=17842;t=2107',
        },
        figures(limit=65000, remaining=17842, reset=2107, window=3600),
        id="beta-ratelimit-with-policy",
    ),
    pytest.param({"Beta-Retry-After": "30"}, figures(reset=30), id="beta-retry-after-sets-reset-never-retry-after"),
    pytest.param(
        {
            "X-Beta-RateLimit-Limit": "1000",
            "X-Beta-RateLimit-Remaining": "900",
            "X-Beta-RateLimit-Reset": "2026-03-26T16:00Z",
            "X-Beta-RateLimit-NearLimit": "true",
            "X-Beta-RateLimit-Reason": "confluence-quota-global-based",
        },
        figures(limit=1000, remaining=900, reset=1800, near_limit=True, reason="confluence-quota-global-based"),
        id="x-beta-ratelimit-forms",
    ),
    pytest.param(
        {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "50",
            "X-RateLimit-Reset": "2026-03-26T16:00Z",
            "Beta-RateLimit-Policy": '"global-app-quota";q=65000;w=3600',
            "Beta-RateLimit": '"global-app-quota";r=10;t=5',
            "Beta-Retry-After": "5",
            "RateLimit-Reason": "conf-global-based",
            "X-Beta-RateLimit-Reason": "confluence-quota-tenant-based",
        },
        figures(limit=100, remaining=50, reset=1800, reason="conf-global-based"),
        id="enforced-figures-beat-beta",
    ),
    pytest.param(
        {
            "Retry-After": "120",
            "RateLimit-Reason": "confluence-quota-tenant-based",
            "RateLimit-Policy": '"tenant-app-quota";q=5000;w=3600',
            "RateLimit": '"tenant-app-quota";r=0;t=120',
        },
        figures(
            limit=5000,
            remaining=0,
            reset=120,
            retry_after=120,
            window=3600,
            near_limit=True,
            reason="confluence-quota-tenant-based",
        ),
        id="quota-429-with-reason",
    ),
    pytest.param(
        {"Retry-After": "30", "RateLimit": "burst;r=1;t=600", "X-RateLimit-Reset": "2026-03-26T16:00Z"},
        figures(remaining=1, reset=30, retry_after=30),
        id="retry-after-beats-ietf-t-and-iso-reset",
    ),
    pytest.param(
        {"RateLimit": "burst;r=1;t=600", "X-RateLimit-Reset": "2026-03-26T16:00Z"},
        figures(remaining=1, reset=600),
        id="ietf-t-beats-iso-reset",
    ),
    pytest.param(
        {
            "x-RATELIMIT-limit": "1000",
            "X-Ratelimit-Remaining": "100",
            "retry-AFTER": "5",
            "Beta-Ratelimit": "b;r=1;t=9",
        },
        figures(limit=1000, remaining=100, reset=5, retry_after=5, near_limit=True),
        id="mixed-case-names",
    ),
    pytest.param(
        {"RateLimit-Policy": '"a";q=10;w=1', "ratelimit-policy": '"b";q=20;w=2', "RateLimit": '"b";r=3;t=1'},
        figures(limit=20, remaining=3, reset=1, window=2, near_limit=True),
        id="one-name-in-two-cases-combines-like-repeated-fields",
    ),
    pytest.param(
        {
            "X-RateLimit-Limit": "lots",
            "X-RateLimit-Remaining": "-3",
            "Retry-After": "soon",
            "X-RateLimit-Reset": "tomorrow",
            "RateLimit": '"q";r=abc;t=',
            "RateLimit-Policy": '"q";q=1e5;w=x',
            "X-RateLimit-NearLimit": "maybe",
            "RateLimit-Reason": "  ",
        },
        figures(),
        id="garbage-values-ignored",
    ),
    pytest.param({"X-RateLimit-NearLimit": "true"}, figures(near_limit=True), id="near-limit-flag"),
    pytest.param(
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "19"},
        figures(limit=100, remaining=19, near_limit=True),
        id="remaining-under-twenty-percent-is-near",
    ),
    pytest.param(
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "20"},
        figures(limit=100, remaining=20),
        id="remaining-at-twenty-percent-is-not-near",
    ),
]


@pytest.mark.parametrize(("headers", "expected"), DIALECTS)
def test_each_dialect_normalises_to_the_same_figures(headers: dict[str, str], expected: RateLimit) -> None:
    """Every header dialect and edge case yields the expected limit, remaining, reset and flags."""
    assert parse_rate_limit(headers, now=NOW) == expected


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-headers"),
        pytest.param({"Content-Type": "application/json", "X-Failure-Category": "X"}, id="unrelated-headers"),
    ],
)
def test_responses_without_rate_limit_headers_give_none(headers: dict[str, str]) -> None:
    """A response carrying no rate-limit header at all yields None."""
    assert parse_rate_limit(headers, now=NOW) is None


def test_max_reset_caps_reset_and_retry_after() -> None:
    """A caller's max_reset bounds both reset and retry_after."""
    parsed = parse_rate_limit({"Retry-After": "120"}, now=NOW, max_reset=60)
    assert parsed == figures(reset=60, retry_after=60)


def test_naive_now_counts_as_utc() -> None:
    """A naive now is read as UTC, so ISO resets compare without raising."""
    parsed = parse_rate_limit({"X-RateLimit-Reset": "2026-03-26T16:00Z"}, now=NOW.replace(tzinfo=None))
    assert parsed == figures(reset=1800)


class LowercaseHeaders(Mapping[str, str]):
    """A read-only mapping that, like httpx.Headers, iterates lowercased names and looks up any case."""

    def __init__(self, raw: dict[str, str]) -> None:
        """Keep the fields under lowercased names."""
        self._fields = {name.lower(): value for name, value in raw.items()}

    def __getitem__(self, name: str) -> str:
        """Return the field named name in any case."""
        return self._fields[name.lower()]

    def __iter__(self) -> Iterator[str]:
        """Yield lowercased names."""
        return iter(self._fields)

    def __len__(self) -> int:
        """Return the number of fields."""
        return len(self._fields)


def test_any_mapping_of_headers_is_accepted() -> None:
    """A non-dict mapping with lowercased names parses like a dict."""
    parsed = parse_rate_limit(LowercaseHeaders({"X-RateLimit-Limit": "100", "Retry-After": "3"}), now=NOW)
    assert parsed == figures(limit=100, reset=3, retry_after=3)


FULL = figures(
    limit=5000, remaining=0, reset=120, retry_after=120, window=3600, near_limit=True, reason="conf-global-based"
)


@pytest.mark.parametrize(
    ("parsed", "expected"),
    [
        pytest.param(
            FULL,
            {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": "120", "retry-after": "120"},
            id="all-known",
        ),
        pytest.param(figures(reset=30), {"ratelimit-reset": "30"}, id="reset-only"),
        pytest.param(figures(near_limit=True, reason="x"), {}, id="no-figures"),
    ],
)
def test_headers_name_only_known_figures(parsed: RateLimit, expected: dict[str, str]) -> None:
    """headers() emits the normalised trio and retry-after only for figures that are known."""
    assert parsed.headers() == expected


@pytest.mark.parametrize(
    ("parsed", "expected"),
    [
        pytest.param(
            FULL,
            {
                "limit": 5000,
                "remaining": 0,
                "reset": 120,
                "retry_after": 120,
                "near_limit": True,
                "reason": "conf-global-based",
            },
            id="all-known",
        ),
        pytest.param(figures(limit=100, remaining=90), {"limit": 100, "remaining": 90}, id="near-limit-false-omitted"),
        pytest.param(figures(), {}, id="nothing-known"),
    ],
)
def test_meta_names_only_known_figures(parsed: RateLimit, expected: dict[str, int | bool | str]) -> None:
    """meta() carries the known figures for a tool result, near_limit only when true."""
    assert parsed.meta() == expected


_NAMES = [
    "Retry-After",
    "Beta-Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-NearLimit",
    "X-RateLimit-Interval-Seconds",
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Reason",
    "Beta-RateLimit",
    "Beta-RateLimit-Policy",
    "X-Beta-RateLimit-Limit",
    "X-Beta-RateLimit-Remaining",
    "X-Beta-RateLimit-Reset",
    "X-Beta-RateLimit-NearLimit",
    "X-Beta-RateLimit-Reason",
]
_NAIVE_OR_UTC: st.SearchStrategy[tzinfo | None] = st.sampled_from([None, UTC])
_MOMENTS = st.datetimes(
    timezones=_NAIVE_OR_UTC
    | st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
)
_NUMBERS = st.integers(min_value=-(10**30), max_value=10**30).map(str)
_PARAMS = st.lists(
    st.tuples(st.sampled_from(["q", "r", "t", "w", "Q", "pk", ""]), _NUMBERS | st.text(max_size=8)), max_size=4
).map(lambda params: "".join(f";{key}={value}" for key, value in params))
_ITEM = (st.sampled_from(['"global-app-quota"', "burst", '"a,b', "100", "limit=5", ""]) | st.text(max_size=8)).flatmap(
    lambda item: _PARAMS.map(lambda params: item + params)
)
_VALUES = (
    st.text()
    | _NUMBERS
    | st.sampled_from([LONG_MAX_VALUE, "true", "0", "1.5", "-0.5", "9" * 5000])
    | _MOMENTS.map(lambda moment: moment.isoformat())
    | _MOMENTS.map(lambda moment: format_datetime(moment.replace(tzinfo=moment.tzinfo or UTC)))
    | st.lists(_ITEM, max_size=4).map(", ".join)
)
_HEADER_NAMES = st.sampled_from(_NAMES).flatmap(
    lambda name: st.sampled_from([name, name.lower(), name.upper(), name.swapcase()])
) | st.text(max_size=12)

# Naive and aware instants: naive ones must be read as UTC, not compared with aware ones.
_NOWS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)) | st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(database=None, max_examples=200, deadline=None)
@given(
    headers=st.dictionaries(_HEADER_NAMES, _VALUES, max_size=8),
    now=_NOWS,
    max_reset=st.integers(min_value=0, max_value=10**7),
)
def test_parse_never_raises_and_keeps_reset_in_bounds(headers: dict[str, str], now: datetime, max_reset: int) -> None:
    """Arbitrary header dicts never raise and keep reset and retry_after within [0, max_reset]."""
    parsed = parse_rate_limit(headers, now=now, max_reset=max_reset)
    if parsed is None:
        return
    assert parsed.reset is None or 0 <= parsed.reset <= max_reset
    assert parsed.retry_after is None or 0 <= parsed.retry_after <= max_reset
    assert parsed.limit is None or parsed.limit > 0
    assert parsed.remaining is None or parsed.remaining >= 0
    parsed.headers()
    parsed.meta()


def test_duration_is_fixed_by_now_not_the_clock() -> None:
    """The same headers read at two instants differ by exactly the elapsed time."""
    headers = {"X-RateLimit-Reset": "2026-03-26T16:00Z"}
    early = parse_rate_limit(headers, now=NOW)
    late = parse_rate_limit(headers, now=NOW + timedelta(minutes=10))
    assert early is not None
    assert late is not None
    assert (early.reset, late.reset) == (1800, 1200)

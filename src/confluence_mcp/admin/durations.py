"""Times people type: durations (``90s``, ``15m``, ``1h``, ``30d``, ``2w``) and "since" values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from confluence_mcp.admin.rules import invalid

__all__ = ["parse_duration", "since_time"]

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST = timedelta(days=36500)  # past this, datetime arithmetic overflows long before the answer matters


def parse_duration(text: str, flag: str = "--expires-in") -> timedelta:
    """Return the length of ``90s``, ``15m``, ``1h``, ``30d`` or ``2w``; raise ValueError naming ``flag``."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{flag}: {text!r} is not a duration such as 90s, 15m, 1h, 30d or 2w")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def since_time(text: str, now: datetime, field: str = "since") -> datetime:
    """Return the time a "since" value names: a duration back from ``now``, or an ISO-8601 time (UTC if zoneless).

    Raises InvalidInput naming ``field``.
    """
    problem = "give a duration back from now (90s, 15m, 1h, 7d, 2w) or an ISO-8601 time (2026-01-31T12:00:00Z)"
    try:
        return now - min(parse_duration(text, field), _LONGEST)
    except (ValueError, OverflowError):
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(field, f"{text[:64]!r} is neither; {problem}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

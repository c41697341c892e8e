"""Logging set-up; MCP URL tokens and Authorization values never reach a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

_MCP_PATH = re.compile(r"(/mcp/)[^/\s\"?]+")
_WELL_KNOWN = re.compile(r"(/\.well-known/[^\s\"]*?/mcp/)[^/\s\"?]+")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """Replace MCP URL tokens and credentials in ``text`` with a placeholder."""
    text = _WELL_KNOWN.sub(r"\1<redacted>", text)
    text = _MCP_PATH.sub(r"\1<redacted>", text)
    return _BEARER.sub(r"\1 <redacted>", text)


class RedactingFilter(logging.Filter):
    """Rewrites every record's message and arguments through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in _as_tuple(record.args))
        return True


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


def log_config(level: str) -> dict[str, Any]:
    """Return a dictConfig for our loggers and uvicorn's, with redaction on every handler."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "access": {"format": "%(asctime)s access %(message)s"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["redact"]},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "filters": ["redact"]},
        },
        "loggers": {
            "confluence_mcp": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": ["access"], "level": upper, "propagate": False},
            "mcp": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            # httpx logs every request URL at INFO; upstream URLs are not secret but are noise.
            "httpx": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        },
    }

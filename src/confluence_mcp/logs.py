"""Logging set-up; MCP URL tokens and Authorization values never reach a log line."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

_MCP_PATH = re.compile(r"(/mcp/)[^/\s\"?]+")
_WELL_KNOWN = re.compile(r"(/\.well-known/[^\s\"]*?/mcp/)[^/\s\"?]+")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/\\-])/[^\s'\"(),;]+")


def without_file_paths(text: str) -> str:
    """Return ``text`` with each absolute file path shortened to ``.../<file name>`` (for answers, not logs).

    Only a path whose first directory exists here is shortened, so URL paths (``/wiki/api/v2/pages``) stay whole;
    what an admin client or a CLI user sees then never maps the server's file system.
    """

    def shortened(match: re.Match[str]) -> str:
        path = match.group(0).rstrip(".:")
        top = path.split("/", 2)[1]
        if not top or not os.path.isdir("/" + top):
            return match.group(0)
        name = path.rstrip("/").rsplit("/", 1)[-1]
        return f".../{name}" + match.group(0)[len(path) :]

    return _ABSOLUTE_PATH.sub(shortened, text)


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


_OUR_ERROR_LINE = re.compile(r"^confluence_mcp\.errors\.\w+: (.+)$")


class StartupErrorFilter(logging.Filter):
    """Shortens uvicorn's start-up traceback to its last line when one of our errors caused it.

    Our errors already name the key, file or record at fault (``servers[0].account: no account with id 'x'``);
    the traceback around them only adds the server's file paths. A failure of any other kind keeps it: a bug
    needs its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a start-up traceback whose last line is ours; never drops a record."""
        message = record.msg
        if record.name == "uvicorn.error" and isinstance(message, str) and message.startswith("Traceback"):
            last = message.rstrip().rsplit("\n", 1)[-1]
            match = _OUR_ERROR_LINE.match(last)
            if match is not None:
                record.msg = "start-up failed: " + without_file_paths(match.group(1))
                record.args = None
        return True


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is ours to print.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, our ``extra`` fields, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON, redacted like every other line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """Return a dictConfig for our loggers and uvicorn's, with redaction on every handler.

    In ``json`` format uvicorn's access log is off: the MCP endpoint writes one richer line per request.
    """
    upper = level.upper()
    json_lines = fmt == "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}, "startup": {"()": StartupErrorFilter}},
        "formatters": {
            "default": {"()": JsonFormatter}
            if json_lines
            else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "access": {"()": JsonFormatter} if json_lines else {"format": "%(asctime)s access %(message)s"},
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["startup", "redact"]},
            "access": {"class": "logging.StreamHandler", "formatter": "access", "filters": ["redact"]},
        },
        "loggers": {
            "confluence_mcp": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {
                "handlers": ["access"],
                "level": "CRITICAL" if json_lines else upper,
                "propagate": False,
            },
            "mcp": {"handlers": ["default"], "level": "WARNING", "propagate": False},
            # httpx logs every request URL at INFO; upstream URLs are not secret but are noise.
            "httpx": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        },
    }

"""Upstream answer -> tool outcome: JSON as structured content, errors explained with what to do next."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluence_mcp.policy.json_text import parse_json
from confluence_mcp.policy.ratelimit import RateLimit, parse_rate_limit
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import UpstreamResponse

_CURRENT_VERSION = re.compile(r"Current Version:\s*\[(\d+)\]", re.IGNORECASE)
_MAX_MESSAGE = 600


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call produced, before it is dressed as an MCP result."""

    text: str
    is_error: bool = False
    structured: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: tuple[dict[str, Any], ...] = ()
    """MCP content items (image, embedded resource) sent instead of the one text item; ``text`` then sums them up."""


def error_outcome(message: str) -> ToolOutcome:
    """Return a tool error with ``message`` and nothing else."""
    return ToolOutcome(text=message, is_error=True)


def outcome_from_response(
    tool_name: str,
    request: UpstreamRequest,
    response: UpstreamResponse,
    *,
    twin: str | None = None,
    twin_offered: bool = True,
) -> ToolOutcome:
    """Turn an upstream response into a tool outcome, with normalized rate-limit figures.

    ``twin`` is the v2 tool doing what this v1 tool does, named when Confluence answers 410 Gone;
    ``twin_offered`` says whether the caller's MCP server lets it call that tool.
    """
    limits = parse_rate_limit(response.headers, now=datetime.now(UTC))
    headers = limits.headers() if limits else {}
    # The same figures as the response headers, under the same names, as integers.
    meta: dict[str, Any] = {name: int(value) for name, value in headers.items()}
    if response.attempts > 1:
        meta["upstream_attempts"] = response.attempts
    status = response.status
    if 200 <= status < 300:
        return _success(request, response, headers, meta)
    message = _explain(tool_name, request, response, limits, (twin, twin_offered))
    meta["upstream_status"] = status
    return ToolOutcome(text=message, is_error=True, meta=meta, headers=headers)


def _success(
    request: UpstreamRequest, response: UpstreamResponse, headers: dict[str, str], meta: dict[str, Any]
) -> ToolOutcome:
    content = response.content
    if not content.strip():
        text = f"Done: Confluence answered HTTP {response.status} with no content for {request.method} {request.path}."
        return ToolOutcome(text=text, structured={"ok": True, "status": response.status}, meta=meta, headers=headers)
    content_type = response.headers.get("content-type", "")
    if "json" in content_type:
        try:
            data = parse_json(content, lone_surrogates="replace")
        except (ValueError, RecursionError):
            text = content.decode("utf-8", "replace")
            return ToolOutcome(
                text=f"Confluence answered HTTP {response.status} with malformed JSON; raw body:\n{text[:2000]}",
                is_error=True,
                meta=meta,
                headers=headers,
            )
        # Structured content must be an object up to protocol 2025-11-25: wrap arrays and scalars.
        structured = data if isinstance(data, dict) else {"result": data}
        # The raw body is already the JSON text clients expect; re-serializing would only cost time.
        text = content.decode("utf-8", "replace") if structured is data else json.dumps(structured)
        return ToolOutcome(text=text, structured=structured, meta=meta, headers=headers)
    return ToolOutcome(text=content.decode("utf-8", "replace"), meta=meta, headers=headers)


def _explain(
    tool_name: str,
    request: UpstreamRequest,
    response: UpstreamResponse,
    limits: RateLimit | None,
    twin: tuple[str | None, bool],
) -> str:
    status = response.status
    detail = confluence_message(response.content)
    said = f" Confluence said: {detail}" if detail else ""
    where = f"{request.method} {request.path}"
    if status == 429:
        wait = limits.retry_after if limits and limits.retry_after is not None else (limits.reset if limits else None)
        figures = []
        if limits:
            for label, value in (("limit", limits.limit), ("remaining", limits.remaining), ("reset in", limits.reset)):
                if value is not None:
                    figures.append(f"{label} {value}{'s' if label == 'reset in' else ''}")
        when = (
            f"Retry after {wait} seconds."
            if wait is not None
            else "Wait before retrying; Confluence gave no retry time."
        )
        shown = f" Rate limit: {', '.join(figures)}." if figures else ""
        return f"Rate limited by Confluence (HTTP 429) on {where}. {when}{shown} Nothing was retried.{said}"
    if status == 401:
        return (
            f"Confluence rejected this account's credentials (HTTP 401) on {where}: the Atlassian API token is "
            f"invalid or expired. The operator must update the account; retrying will not help.{said}"
        )
    if status == 403:
        return (
            f"Confluence refused {where} (HTTP 403): this account lacks the permission (group membership "
            f"changes need a site admin).{said}"
        )
    if status == 404:
        return (
            f"Not found (HTTP 404) on {where}: the id does not exist or this account may not see it "
            f"(Confluence answers 404 instead of 403 in that case). Check the id; v2 tools take numeric ids, "
            f"v1 tools take space keys.{said}"
        )
    if status == 409:
        return _conflict(tool_name, where, detail)
    if status == 400:
        return f"Confluence rejected the request as invalid (HTTP 400) on {where}. Fix the arguments and retry.{said}"
    if status == 413:
        return f"The request was too large for Confluence (HTTP 413) on {where}; send a smaller body.{said}"
    if status == 410:
        return _gone(tool_name, where, twin, said)
    if status >= 500:
        return f"Confluence failed (HTTP {status}) on {where}. This is on Confluence's side; try again shortly.{said}"
    if 300 <= status < 400:
        return (
            f"Confluence answered with a redirect (HTTP {status}) on {where}, which is never followed, so the "
            "account's credentials go to its own site only. If the site moved, the operator must update the account."
        )
    return f"Confluence answered HTTP {status} on {where}.{said}"


def _gone(tool_name: str, where: str, twin_offered: tuple[str | None, bool], said: str) -> str:
    # Newer sites, and every scoped or OAuth credential, lose v1 content endpoints; classic tokens keep them [obs].
    removed = (
        f"Confluence has removed the endpoint of {tool_name} (HTTP 410 Gone on {where}) for this site or this "
        "account's credential type, so retrying will not help."
    )
    twin, offered = twin_offered
    if twin is not None and offered:
        return f"{removed} Use {twin} instead.{said}"
    if twin is not None:
        return f"{removed} {twin} does the same, but this MCP server does not offer it: ask the operator.{said}"
    return (
        f"{removed} No v2 tool does the same; an account with a classic API token on the site URL may still "
        f"reach it (ask the operator).{said}"
    )


def version_in_conflict(detail: str) -> int | None:
    """Return the current version Confluence names in its 409 text (``Current Version: [4]``), if it does."""
    match = _CURRENT_VERSION.search(detail)
    return int(match.group(1)) if match else None


def _conflict(tool_name: str, where: str, detail: str) -> str:
    current = version_in_conflict(detail)
    if current is not None:
        advice = (
            f"The current version is {current}: send version.number = {current + 1}. Someone may have edited it "
            f"since you read it, so read it again first and merge their changes."
        )
    else:
        advice = (
            "Read the current version first (e.g. get_single_confluence_page_by_id) and send version.number = "
            "current + 1."
        )
    return (
        f"Version conflict (HTTP 409) on {where}: an update must carry version.number = current version + 1. "
        f"{advice} Confluence said: {detail}"
    )


def confluence_message(content: bytes) -> str:
    """Extract Confluence's own error text from a v1 ``{statusCode,message,data}`` or v2 ``{errors:[...]}`` body."""
    if not content:
        return ""
    try:
        data = parse_json(content, lone_surrogates="replace")
    except (ValueError, RecursionError):
        text = content.decode("utf-8", "replace").strip()
        return text[:_MAX_MESSAGE] if not text.lstrip().startswith("<") else ""
    parts: list[str] = []
    if isinstance(data, Mapping):
        errors = data.get("errors")
        if isinstance(errors, list):  # v2
            for err in errors:
                if isinstance(err, Mapping):
                    text = " ".join(str(err[k]) for k in ("title", "detail") if err.get(k))
                    code = err.get("code")
                    parts.append(f"{text} ({code})" if code and text else text or str(code or ""))
        if isinstance(data.get("message"), str) and data["message"]:  # v1
            parts.append(data["message"])
        inner = data.get("data")
        if isinstance(inner, Mapping) and isinstance(inner.get("errors"), list):
            for err in inner["errors"]:
                message = err.get("message") if isinstance(err, Mapping) else None
                if isinstance(message, Mapping) and message.get("translation"):
                    parts.append(str(message["translation"]))
    text = "; ".join(p for p in dict.fromkeys(parts) if p)
    return text[:_MAX_MESSAGE]

"""HTML forms in and out: bounded urlencoded bodies, form fields -> admin request bodies, errors -> fields.

Form controls are named by the body path they fill (``auth.username``, ``config.methods``), so an
``InvalidInput`` or ``InvalidBody`` from ``AdminService`` (which names ``config.methods[1]``) lands next to
the control it concerns. The bodies built here go through ``admin.models.parse_input`` like the REST API's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from confluence_mcp import asgi
from confluence_mcp.admin.durations import parse_duration
from confluence_mcp.admin.models import iso_z
from confluence_mcp.errors import BodyTooLarge, InvalidInput, PayloadTooLarge

__all__ = [
    "EXPIRY_CHOICES",
    "Form",
    "FormErrors",
    "account_body",
    "account_patch",
    "form_errors",
    "read_form",
    "server_config",
    "server_expiry",
]

_INDEX = re.compile(r"\[\d+\]$")

EXPIRY_CHOICES = (("", "never"), ("1h", "in 1 hour"), ("1d", "in 1 day"), ("7d", "in 7 days"), ("30d", "in 30 days"))
"""The MCP server expiry picker: a duration from now, or a date typed in the date field."""


@dataclass(frozen=True, slots=True)
class Form:
    """The fields of a posted form; a name given several times (checkboxes) keeps every value."""

    fields: Mapping[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """Return the first value of ``name``, stripped, or ''."""
        values = self.fields.get(name)
        return values[0].strip() if values else ""

    def all(self, name: str) -> list[str]:
        """Return every non-empty value of ``name``."""
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]

    def checked(self, name: str) -> bool:
        """Return whether the checkbox ``name`` was ticked."""
        return bool(self.fields.get(name))


async def read_form(request: Request, limit: int) -> Form:
    """Return the urlencoded form of ``request``, read under ``limit`` bytes (PayloadTooLarge past it)."""
    try:
        body = await asgi.read_body(request.receive, limit)
    except BodyTooLarge:
        raise PayloadTooLarge(f"the form is larger than the {limit}-byte limit") from None
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, []).append(value)
    return Form(fields)


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Problems by form field; ``general`` holds those no control on the page owns."""

    by_field: Mapping[str, str]
    general: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


def form_errors(exc: InvalidInput, fields: frozenset[str]) -> FormErrors:
    """Return ``exc``'s problems placed on the page's ``fields`` (``config.methods[1]`` -> ``config.methods``)."""
    details = exc.details if isinstance(exc.details, list) and exc.details else []
    problems = [(d.get("field"), str(d.get("message", ""))) for d in details if isinstance(d, dict)]
    if not problems:
        problems = [(exc.field, str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc))]
    by_field: dict[str, str] = {}
    general: list[str] = []
    for name, message in problems:
        key = _INDEX.sub("", str(name or ""))
        if key not in fields and key.startswith("auth") and "auth.password" in fields:
            key = "auth.password"  # "auth" as a whole (wrong credentials): shown at the token
        if key in fields:
            by_field.setdefault(key, message)
        else:
            general.append(f"{name}: {message}" if name else message)
    return FormErrors(by_field, tuple(general))


def _date_or_none(text: str) -> str | None:
    """Return a date field's value as a UTC midnight ISO time, or None when it is empty."""
    if not text:
        return None
    return f"{text}T00:00:00Z" if len(text) == 10 else text


def account_body(form: Form) -> dict[str, Any]:
    """Return the ``POST /integrated-account`` body the add-account form describes."""
    auth_type = form.get("auth.type") or "basic"
    return {
        "label": form.get("label"),
        "instance_url": form.get("instance_url"),
        "auth": {
            "type": auth_type,
            "username": (form.get("auth.username") or None) if auth_type in ("basic", "scoped") else None,
            "password": form.get("auth.password"),
        },
        "api_token_expires_at": _date_or_none(form.get("api_token_expires_at")),
    }


def account_patch(form: Form) -> dict[str, Any]:
    """Return the PATCH body of the edit-account form: new credentials only when a token was typed."""
    body: dict[str, Any] = {
        "label": form.get("label"),
        "instance_url": form.get("instance_url"),
        "api_token_expires_at": _date_or_none(form.get("api_token_expires_at")),
    }
    if form.get("auth.password"):
        body["auth"] = account_body(form)["auth"]
    return body


def server_config(form: Form) -> dict[str, Any]:
    """Return the ``config`` object the MCP server form describes (also the preview's filters)."""
    config: dict[str, Any] = {
        "methods": form.all("config.methods"),
        "tags": form.all("config.tags"),
        "require_api_token_auth": form.checked("config.require_api_token_auth"),
        "tool_exposure": form.get("config.tool_exposure") or "all",
        "lean_results": form.checked("config.lean_results"),
        "hide_deprecated": form.get("config.hide_deprecated") or "replaced",
    }
    max_limit = form.get("config.max_limit")
    if max_limit:
        config["max_limit"] = int(max_limit) if max_limit.isdigit() else max_limit
    return config


def server_expiry(form: Form, now: datetime | None = None) -> str | None:
    """Return the expiry the picker names: a date typed wins over a duration chosen; nothing means never."""
    typed = _date_or_none(form.get("expires_on"))
    if typed is not None:
        return typed
    choice = form.get("expires_in")
    if not choice:
        return None
    try:
        length = parse_duration(choice, "expires_at")
    except ValueError as exc:
        raise InvalidInput(str(exc), field="expires_at") from None
    return iso_z((now or datetime.now(UTC)) + length)

"""What simulator handlers speak: the parsed ``Call``, the ``Reply``, ``Problem`` errors and the route table.

Handlers are plain synchronous functions ``(Call, State) -> Reply``; a handler that must answer with a
Confluence error raises ``Problem``, which the gateway renders in the v1 or v2 shape of the path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from confluence_mcp.errors import SimulatedFailure

if TYPE_CHECKING:
    from confluence_mcp.simulator.state import State

JsonObject = dict[str, Any]
Handler = Callable[["Call", "State"], "Reply"]
RouteSpec = tuple[str, str, Handler]

V1_PREFIX: Final = "/wiki/rest/"

_V2_CODES: Final = {
    400: "INVALID_REQUEST_PARAMETER",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "REQUEST_ENTITY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_json(value: Any) -> bytes:
    """Return ``value`` as compact UTF-8 JSON, as Confluence sends it."""
    # One shared encoder: json.dumps with non-default options builds a new encoder per call.
    return _ENCODER.encode(value).encode()


def reason_phrase(status: int) -> str:
    """Return the HTTP reason phrase for ``status`` (``"Unknown"`` for codes outside the registry)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def v2_error_body(status: int, title: str, *, code: str | None = None, status_as_text: bool = False) -> JsonObject:
    """Return a v2 error document: ``{"errors": [{status, code, title, detail}]}``."""
    error_code = code or _V2_CODES.get(status, reason_phrase(status).upper().replace(" ", "_"))
    return {
        "errors": [
            {"status": str(status) if status_as_text else status, "code": error_code, "title": title, "detail": None}
        ]
    }


def v1_error_body(status: int, message: str, *, detail: str | None = None) -> JsonObject:
    """Return a v1 error document: ``{statusCode, data{authorized, valid, ...}, message, reason}``."""
    errors = [] if detail is None else [{"message": {"translation": detail, "args": []}}]
    return {
        "statusCode": status,
        "data": {
            "authorized": status not in (400, 401, 403),
            "valid": status != 400,
            "allowedInReadOnlyMode": True,
            "errors": errors,
            "successful": False,
        },
        "message": message,
        "reason": reason_phrase(status),
    }


class Problem(SimulatedFailure):
    """A Confluence error answer raised by a handler; the gateway renders it in the path's API dialect."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        status_as_text: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.status_as_text = status_as_text
        self.detail = detail

    def body(self, *, v1: bool) -> JsonObject:
        """Return the error document in the v1 or the v2 shape."""
        if v1:
            return v1_error_body(self.status, self.message, detail=self.detail)
        return v2_error_body(self.status, self.message, code=self.code, status_as_text=self.status_as_text)


@dataclass(slots=True)
class Reply:
    """A handler's answer: status, a JSON-able body (``None`` for no body) and extra headers."""

    status: int = 200
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None
    """An already encoded JSON body; wins over ``body``."""


@dataclass(slots=True)
class Call:
    """One authenticated Confluence request as handlers see it."""

    method: str
    path: str
    params: dict[str, str]
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    json_invalid: bool
    base: str
    """The site's ``…/wiki`` URL as the client addressed it, e.g. ``https://example.atlassian.net/wiki``."""
    _first: dict[str, str] | None = None

    def arg(self, name: str) -> str | None:
        """Return the first value of query parameter ``name``, or ``None``."""
        first = self._first
        if first is None:
            first = {}
            for key, value in self.query:
                first.setdefault(key, value)
            self._first = first
        return first.get(name)

    def args(self, name: str) -> list[str]:
        """Return every value of ``name``, accepting repeated keys and comma-joined lists alike."""
        values: list[str] = []
        for key, value in self.query:
            if key == name:
                values.extend(part.strip() for part in value.split(",") if part.strip())
        return values

    def int_arg(self, name: str, default: int, *, low: int, high: int | None = None) -> int:
        """Return integer parameter ``name`` within ``low..high`` or raise a 400 ``Problem``."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Problem(400, f"Invalid value for parameter '{name}': '{raw}' is not an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise Problem(400, f"Invalid value for parameter '{name}': {value} must be {bound}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """Return boolean parameter ``name`` (``true``/``false``) or raise a 400 ``Problem``."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise Problem(400, f"Invalid value for parameter '{name}': '{raw}' is not a boolean")
        return lowered == "true"

    def json_value(self) -> Any:
        """Return the parsed JSON body, or raise 415 for another media type and 400 for bad JSON."""
        content_type = self.headers.get("content-type", "")
        if "json" not in content_type:
            raise Problem(415, f"Unsupported media type: '{content_type or 'none'}'; send application/json")
        if self.json_invalid or not self.body:
            raise Problem(400, "Invalid message: the request body is not valid JSON", code="INVALID_MESSAGE")
        return self.json

    def json_object(self) -> JsonObject:
        """Return the parsed JSON body as an object, with the errors of ``json_value``."""
        value = self.json_value()
        if not isinstance(value, dict):
            raise Problem(400, "Invalid message: the request body must be a JSON object", code="INVALID_MESSAGE")
        return value


_PARAM = re.compile(r"\{([^}]+)\}")


def _compile(template: str) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
    names: list[tuple[str, str]] = []
    parts: list[str] = []
    position = 0
    for match in _PARAM.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        safe = f"p{len(names)}"
        names.append((safe, match.group(1)))
        parts.append(f"(?P<{safe}>[^/]+)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("^" + "".join(parts) + "$"), tuple(names)


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    names: tuple[tuple[str, str], ...]
    handler: Handler


class RouteTable:
    """Method-and-path dispatch: literal paths by dict lookup, templated ones by precompiled regex."""

    def __init__(self, specs: Sequence[RouteSpec]) -> None:
        self._literal: dict[tuple[str, str], Handler] = {}
        self._literal_paths: set[str] = set()
        self._templated: list[_Route] = []
        for method, template, handler in specs:
            if "{" in template:
                pattern, names = _compile(template)
                self._templated.append(_Route(method, pattern, names, handler))
            else:
                self._literal[(method, template)] = handler
                self._literal_paths.add(template)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | bool:
        """Return ``(handler, path params)``, else ``True`` if only the method is wrong, ``False`` if no path fits."""
        handler = self._literal.get((method, path))
        if handler is not None:
            return handler, {}
        path_known = path in self._literal_paths
        for route in self._templated:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method != method:
                path_known = True
                continue
            return route.handler, {name: match.group(safe) for safe, name in route.names}
        return path_known

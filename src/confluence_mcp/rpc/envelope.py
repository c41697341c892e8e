"""One JSON-RPC message out of a request body, or the precise reason it is not one.

Checked once, before either transport sees the request, so both answer malformed input alike and in our
words: never a validation dump, never a traceback. Batches were removed from MCP in 2025-06-18.
"""

from __future__ import annotations

import json
from typing import Any

from confluence_mcp.errors import InvalidRequest, ParseError
from confluence_mcp.policy.json_text import parse_json

_ID_TYPES = (int, str)


def parse_message(body: bytes) -> dict[str, Any]:
    """Return the message in ``body``; raise ParseError or InvalidRequest naming what is wrong."""
    try:
        message = parse_json(body, lone_surrogates="refuse")  # strict JSON: no NaN, no lone surrogate
    except RecursionError as exc:
        raise ParseError("Parse error: the JSON nests too deeply") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both derive from it
        raise ParseError(f"Parse error: the body is not JSON ({_reason(exc)})") from exc
    if isinstance(message, list):
        raise InvalidRequest("Invalid Request: JSON-RPC batches are not supported; send one message per request")
    if not isinstance(message, dict):
        raise InvalidRequest(f"Invalid Request: a JSON-RPC message is an object, not {json_type(message)}")
    request_id = message.get("id")
    known_id = request_id if isinstance(request_id, _ID_TYPES) and not isinstance(request_id, bool) else None
    if message.get("jsonrpc") != "2.0":
        raise InvalidRequest("Invalid Request: 'jsonrpc' must be \"2.0\"", known_id)
    if "id" in message and request_id is not None and known_id is None:
        raise InvalidRequest(f"Invalid Request: 'id' must be a string or a number, got {json_type(request_id)}")
    if "method" not in message:
        if "result" in message or "error" in message:
            return message  # a client's answer to a server request: the transport acknowledges it
        raise InvalidRequest("Invalid Request: 'method' is missing", known_id)
    method = message["method"]
    if not isinstance(method, str):
        raise InvalidRequest(f"Invalid Request: 'method' must be a string, got {json_type(method)}", known_id)
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidRequest(
            f"Invalid Request: 'params' of {method} must be an object, got {json_type(params)}", known_id
        )
    return message


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(exc)


def json_type(value: Any) -> str:
    """Return how JSON calls ``value``'s type, with an article ("a string", "null")."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )

"""Tool names in Truto's convention, from ``x-mcp-*`` hints or from the HTTP method and path shape.

list   -> list_all_<integration>_<plural>
get    -> get_single_<integration>_<singular>_by_id
create -> create_a_<integration>_<singular>
update -> update_a_<integration>_<singular>_by_id
delete -> delete_a_<integration>_<singular>_by_id
other  -> <integration>_<plural>_<method>

Collision rule: when several operations yield one name, one keeps it: an operation with ``x-mcp-*``
naming hints over one without, then the shorter path, then the path and method in alphabetical
order. Every other gets ``_`` plus the first 6 hex digits of sha1("METHOD path"), which depends only
on the operation itself. Names longer than 128 characters are cut to 121 and get the same suffix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

TOOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
MAX_NAME = 128

_API_PREFIX = re.compile(r"^(wiki|rest|api|v\d+)$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
# Trailing path words that name an action rather than a collection: POST /pages/{id}/redact is a verb.
_ACTION_WORDS = frozenset(
    {
        "redact",
        "reset",
        "copy",
        "move",
        "archive",
        "restore",
        "convert",
        "check",
        "invite",
        "publish",
        "download",
        "upload",
        "bulk",
        "transition",
        "cancel",
        "sync",
        "purge",
    }
)


_UNCOUNTED = frozenset({"content", "data", "metadata", "info", "search", "access", "current", "anonymous", "settings"})
_UNCOUNTED_ENDINGS = ("children", "ed", "ous", "ment")


@dataclass(frozen=True, slots=True)
class NameParts:
    """What a name is built from: resource plural and singular, and the method class."""

    plural: str
    singular: str
    method: str


def snake(word: str) -> str:
    """Return ``word`` in lower snake_case (camelCase, kebab-case and spaces split)."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", word)).strip("_").lower()


def singular(word: str) -> str:
    """Return a best-effort English singular of one snake_case word's last part."""
    head, _, last = word.rpartition("_")
    if last == "children":
        last = "child"
    elif last.endswith("ies") and len(last) > 3:
        last = last[:-3] + "y"
    elif last.endswith(("sses", "xes", "ches", "shes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return f"{head}_{last}" if head else last


def plural(word: str) -> str:
    """Return a best-effort English plural of one snake_case word's last part."""
    last = word.rpartition("_")[2]
    if last in _UNCOUNTED or last.endswith(_UNCOUNTED_ENDINGS) or singular(word) != word:
        return word  # already plural, uncountable, or an adjective used as a noun ("current")
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def static_segments(path: str) -> list[str]:
    """Return the path's literal segments, API prefixes (wiki, rest, api, v2) dropped."""
    segments = [s for s in path.split("/") if s and "{" not in s]
    while segments and _API_PREFIX.match(segments[0]):
        segments.pop(0)
    return segments


def derive_parts(http_method: str, path: str) -> NameParts:
    """Derive resource names and method class from the HTTP method and path shape alone."""
    words = [snake(s) for s in static_segments(path)] or ["root"]
    ends_with_param = path.rstrip("/").endswith("}")
    method: str
    last = words[-1]
    last_word = last.split("_", 1)[0]
    if (
        not ends_with_param
        and len(words) > 1
        and (last_word in _ACTION_WORDS or (http_method == "POST" and last.endswith("_by_email")))
    ):
        method = last
        words = words[:-1]
    elif http_method == "GET":
        method = "get" if ends_with_param else "list"
    elif http_method == "POST":
        method = "create"
    elif http_method in ("PUT", "PATCH"):
        method = "update"
    else:
        method = "delete"
    parents = [singular(w) for w in words[:-1]]
    tail = words[-1]
    return NameParts(
        plural="_".join([*parents, plural(tail)]),
        singular="_".join([*parents, singular(tail)]),
        method=method,
    )


def compose(integration: str, parts: NameParts) -> str:
    """Build the Truto-style name for ``parts``."""
    method = parts.method
    if method == "list":
        return f"list_all_{integration}_{parts.plural}"
    if method == "get":
        return f"get_single_{integration}_{parts.singular}_by_id"
    if method == "create":
        return f"create_a_{integration}_{parts.singular}"
    if method == "update":
        return f"update_a_{integration}_{parts.singular}_by_id"
    if method == "delete":
        return f"delete_a_{integration}_{parts.singular}_by_id"
    return f"{integration}_{parts.plural}_{method}"


def operation_suffix(http_method: str, path: str) -> str:
    """Return the collision suffix: 6 hex digits that depend only on the operation."""
    return hashlib.sha1(f"{http_method} {path}".encode(), usedforsecurity=False).hexdigest()[:6]


def fit(name: str, http_method: str, path: str) -> str:
    """Make ``name`` a valid MCP tool name, cutting long ones and adding the operation suffix."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_.-]", "_", name)).strip("_") or "tool"
    if len(cleaned) > MAX_NAME:
        cleaned = f"{cleaned[: MAX_NAME - 7]}_{operation_suffix(http_method, path)}"
    return cleaned

"""Which tool replaces which: a v1 tool's v2 twin, and a deprecated operation's replacement, from paths alone.

A v1 path becomes the v2 path Atlassian gave the same resource: ``content`` is ``pages`` (v2 splits content by
type; pages are what v1 content tools mostly touch), ``child/attachment`` is ``attachments``, every other literal
segment is pluralized (``label`` -> ``labels``, ``descendant`` -> ``descendants``), parameters match whatever
their name. A v1 tool's twin is the served v2 tool with the same method on that path. A deprecated operation is
replaced by its v2 twin, else by a sibling in its own API whose last segment ends in ``-<its last segment>``
(``/pages/{id}/children`` -> ``/pages/{id}/direct-children``). ``_EXPLICIT`` holds the few pairs neither rule
can tell. Computed once per catalog; pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from confluence_mcp.openapi.naming import plural

__all__ = ["V1_PREFIX", "V2_PREFIX", "Endpoint", "replacements", "v2_twins"]

Endpoint = tuple[str, str]
"""(HTTP method, full path template from the site root)."""

V1_PREFIX: Final = "/wiki/rest/api/"
V2_PREFIX: Final = "/wiki/api/v2/"

_RENAMED: Final[dict[str, str]] = {"content": "pages"}
"""v1 segments whose v2 name is not their plural (``child/attachment`` is ``attachments``, handled apart)."""
_EXPLICIT: Final[dict[Endpoint, Endpoint | str]] = {
    # v1 reads one user by accountId; v2 reads users only in bulk.
    ("GET", "/wiki/rest/api/user"): ("POST", "/wiki/api/v2/users-bulk"),
    ("GET", "/wiki/rest/api/user/bulk"): ("POST", "/wiki/api/v2/users-bulk"),
    # v1 narrows descendants by a {type}; v2 has one descendants list holding every type.
    ("GET", "/wiki/rest/api/content/{id}/descendant/{type}"): ("GET", "/wiki/api/v2/pages/{id}/descendants"),
    # The download redirect has no v2 operation; the server's own download tool follows it.
    ("GET", "/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download"): "confluence_attachments_download",
}
"""Pairs the path rules cannot tell: the v2 endpoint, or the name of one of the server's own tools."""


def _shape(path: str) -> tuple[str, ...]:
    """Return ``path``'s segments with every parameter as ``{}``."""
    return tuple("{}" if s.startswith("{") else s for s in path.strip("/").split("/"))


def _v2_shape(v1_path: str) -> tuple[str, ...] | None:
    """Return the shape of the v2 path that names what ``v1_path`` names, or None for a path not under v1."""
    if not v1_path.startswith(V1_PREFIX):
        return None
    segments = v1_path[len(V1_PREFIX) :].split("/")
    out: list[str] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        if segments[index : index + 2] == ["child", "attachment"]:
            out.append("attachments")
            index += 2
            continue
        out.append("{}" if segment.startswith("{") else _RENAMED.get(segment) or plural(segment))
        index += 1
    return _shape(V2_PREFIX) + tuple(out)


def v2_twins(tools: Iterable[tuple[Endpoint, str]]) -> dict[str, str]:
    """Return v1 tool name -> v2 tool name for each served v1 tool (endpoint, name) whose twin is served too."""
    served = list(tools)
    names = {name for _, name in served}
    by_shape: dict[tuple[str, tuple[str, ...]], str] = {}
    for (method, path), name in served:
        if not path.startswith(V1_PREFIX):
            by_shape.setdefault((method, _shape(path)), name)  # the first wins: generated tools before extras
    twins: dict[str, str] = {}
    for (method, path), name in served:
        twin = _twin(method, path, by_shape, names)
        if twin is not None and twin != name:
            twins.setdefault(name, twin)
    return twins


def _twin(
    method: str,
    path: str,
    by_shape: Mapping[tuple[str, tuple[str, ...]], str],
    names: set[str],
) -> str | None:
    explicit = _EXPLICIT.get((method, path))
    if isinstance(explicit, str):
        return explicit if explicit in names else None
    if explicit is not None:
        return by_shape.get((explicit[0], _shape(explicit[1])))
    shape = _v2_shape(path)
    return by_shape.get((method, shape)) if shape is not None else None


def replacements(endpoints: Mapping[Endpoint, str], deprecated: Iterable[Endpoint]) -> dict[Endpoint, str]:
    """Return deprecated endpoint -> the name of the served, not deprecated tool that replaces it."""
    retired = set(deprecated)
    usable = {endpoint: name for endpoint, name in endpoints.items() if endpoint not in retired}
    twins = v2_twins(endpoints.items())
    found: dict[Endpoint, str] = {}
    for endpoint in sorted(retired):
        name = endpoints.get(endpoint)
        replacement = twins.get(name) if name is not None else None
        if replacement is None:
            replacement = _sibling(endpoint, usable)
        if replacement is not None and replacement in usable.values():
            found[endpoint] = replacement
    return found


def _sibling(endpoint: Endpoint, usable: Mapping[Endpoint, str]) -> str | None:
    """Return the tool at ``…/x-<last>`` beside ``…/<last>`` with the same method (direct-children for children)."""
    method, path = endpoint
    head, _, last = path.rpartition("/")
    if not last or last.startswith("{"):
        return None
    for (other_method, other_path), name in usable.items():
        other_head, _, other_last = other_path.rpartition("/")
        if other_method == method and other_head == head and other_last.endswith("-" + last):
            return name
    return None

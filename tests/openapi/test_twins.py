"""Twins and replacements: a v1 tool's v2 twin and a deprecated operation's replacement, from paths alone."""

from __future__ import annotations

from confluence_mcp.openapi import Tool, default_documents, generate_tools
from confluence_mcp.openapi.twins import Endpoint, replacements, v2_twins
from tests.support.official import V1, official_tools

_official = official_tools


def _endpoints(tools: tuple[Tool, ...]) -> dict[Endpoint, str]:
    return {(t.binding.method, t.binding.path): t.name for t in tools}


def _paths(tools: tuple[Tool, ...], pairs: dict[str, str]) -> set[tuple[str, str]]:
    by_name = {t.name: t for t in tools}
    return {
        (by_name[a].binding.path, f"{by_name[b].binding.method} {by_name[b].binding.path}") for a, b in pairs.items()
    }


def test_official_v1_tools_get_the_v2_tool_on_the_same_resource() -> None:
    """Matching renames content to pages, pluralizes segments and ignores parameter names; the table adds users."""
    found = _paths(_official(), v2_twins(_endpoints(_official()).items()))
    assert ("/wiki/rest/api/content/{id}/descendant", "GET /wiki/api/v2/pages/{id}/descendants") in found
    assert ("/wiki/rest/api/content/{id}/descendant/{type}", "GET /wiki/api/v2/pages/{id}/descendants") in found
    assert ("/wiki/rest/api/space/{spaceKey}/label", "GET /wiki/api/v2/spaces/{id}/labels") in found
    assert ("/wiki/rest/api/user", "POST /wiki/api/v2/users-bulk") in found
    assert ("/wiki/rest/api/label", "GET /wiki/api/v2/labels") in found


def test_only_v1_tools_have_twins_and_a_write_is_never_twinned_with_a_read() -> None:
    """v2 tools are never keys; v1 label writes have no twin, as v2 labels are read-only."""
    tools = _official()
    twins = v2_twins(_endpoints(tools).items())
    by_name = {t.name: t for t in tools}
    assert all(by_name[name].binding.path.startswith("/wiki/rest/api/") for name in twins)
    assert all(by_name[twin].binding.path.startswith("/wiki/api/v2/") for twin in twins.values())
    label_writes = [t.name for t in tools if t.binding.path == "/wiki/rest/api/content/{id}/label"]
    assert label_writes
    assert not set(label_writes) & set(twins)


def test_our_document_twins_the_user_read_with_the_bulk_lookup() -> None:
    """In the served default set, the v1 user read names the v2 bulk lookup; search and groups have no twin."""
    twins = v2_twins(_endpoints(generate_tools(default_documents())).items())
    assert twins == {"get_single_confluence_user_by_id": "confluence_users_bulk_lookup"}


def test_an_explicit_entry_may_name_one_of_the_servers_own_tools() -> None:
    """The v1 download redirect is twinned with the download tool when that tool is served, else with nothing."""
    download = ("GET", "/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download")
    served = {download: "v1_download", ("GET", "/wiki/api/v2/attachments/{id}"): "confluence_attachments_download"}
    assert v2_twins(served.items()) == {"v1_download": "confluence_attachments_download"}
    assert v2_twins([(download, "v1_download")]) == {}


def test_deprecated_operations_are_replaced_by_their_twin_or_their_sibling() -> None:
    """v1 descendants go to v2 descendants; v2 /children goes to /direct-children; none to a deprecated tool."""
    endpoints = _endpoints(_official())
    retired = [
        ("GET", "/wiki/rest/api/content/{id}/descendant"),
        ("GET", "/wiki/rest/api/content/{id}/descendant/{type}"),
        ("GET", "/wiki/api/v2/pages/{id}/children"),
    ]
    found = replacements(endpoints, retired)
    by_endpoint = {name: endpoint for endpoint, name in endpoints.items()}
    assert {e: by_endpoint[n][1] for e, n in found.items()} == {
        retired[0]: "/wiki/api/v2/pages/{id}/descendants",
        retired[1]: "/wiki/api/v2/pages/{id}/descendants",
        retired[2]: "/wiki/api/v2/pages/{id}/direct-children",
    }


def test_a_deprecated_operation_whose_replacement_is_not_served_has_none() -> None:
    """With only the v1 document, v1 descendants have no replacement; a deprecated twin is never a replacement."""
    v1_only = _endpoints(generate_tools([V1]))
    assert replacements(v1_only, [("GET", "/wiki/rest/api/content/{id}/descendant")]) == {}
    children = ("GET", "/wiki/api/v2/pages/{id}/children")
    both = {children: "old", ("GET", "/wiki/api/v2/pages/{id}/direct-children"): "new"}
    assert replacements(both, [children, ("GET", "/wiki/api/v2/pages/{id}/direct-children")]) == {}

"""The pages' pure parts: errors placed on fields, forms turned into bodies, expiry flags, sealed cookies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from confluence_mcp.admin.models import McpServerInput, parse_input
from confluence_mcp.admin.rules import invalid
from confluence_mcp.errors import InvalidBody, InvalidInput
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.ui.forms import Form, account_patch, form_errors, server_config, server_expiry
from confluence_mcp.ui.rendering import expiry_flag
from confluence_mcp.ui.sessions import Session, csrf_matches, open_cookie, seal

FIELDS = frozenset({"name", "config", "config.methods", "config.tags", "auth.password", "expires_at"})


def test_an_indexed_field_lands_on_its_control_and_an_unknown_one_is_general() -> None:
    """config.methods[1] is shown at config.methods; a field the page lacks goes to the general list."""
    errors = form_errors(invalid("config.methods[1]", "'raed' matches no tool"), FIELDS)
    assert dict(errors.by_field) == {"config.methods": "'raed' matches no tool"}
    other = form_errors(invalid("scope", "not a scope"), FIELDS)
    assert (dict(other.by_field), other.general) == ({}, ("scope: not a scope",))


def test_every_problem_of_a_body_error_is_placed_and_auth_as_a_whole_goes_to_the_token() -> None:
    """InvalidBody lists several fields; a check failure naming auth is shown beside the API token."""
    with pytest.raises(InvalidBody) as raised:
        parse_input(McpServerInput, {"name": "", "config": {"tags": "pages"}})
    assert set(form_errors(raised.value, FIELDS).by_field) == {"name", "config.tags"}
    check = InvalidInput("auth: 401", field="auth", details=[{"field": "auth", "message": "answered 401"}])
    assert dict(form_errors(check, FIELDS).by_field) == {"auth.password": "answered 401"}


def test_forms_become_bodies_with_checkboxes_kept_and_credentials_only_when_typed() -> None:
    """Ticked methods and tags become lists; the edit form sends auth only with a new token."""
    form = Form({"config.methods": ["read"], "config.tags": ["pages", "spaces"], "config.max_limit": ["20"]})
    config = server_config(form)
    assert (config["methods"], config["tags"], config["max_limit"]) == (["read"], ["pages", "spaces"], 20)
    assert config["require_api_token_auth"] is False
    assert config["lean_results"] is False  # an unticked box: Confluence's answers whole
    assert server_config(Form({"config.lean_results": ["on"]}))["lean_results"] is True
    assert config["hide_deprecated"] == "replaced"  # nothing chosen: the server's default
    assert server_config(Form({"config.hide_deprecated": ["all"]}))["hide_deprecated"] == "all"
    kept = account_patch(Form({"label": ["L"], "auth.username": ["a@b.c"], "auth.password": [""]}))
    assert "auth" not in kept
    replaced = account_patch(Form({"auth.username": ["a@b.c"], "auth.password": ["t"]}))
    assert replaced["auth"] == {"type": "basic", "username": "a@b.c", "password": "t"}


def test_the_expiry_picker_prefers_a_typed_date_and_refuses_a_bad_duration() -> None:
    """A date wins over the duration; 7d is seven days from now; nothing is never; junk names expires_at."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert server_expiry(Form({"expires_in": ["7d"], "expires_on": ["2027-01-02"]}), now) == "2027-01-02T00:00:00Z"
    assert server_expiry(Form({"expires_in": ["7d"]}), now) == "2026-12-08T00:00:00.000Z"
    assert server_expiry(Form({}), now) is None
    with pytest.raises(InvalidInput) as raised:
        server_expiry(Form({"expires_in": ["soon"]}), now)
    assert raised.value.field == "expires_at"


@pytest.mark.parametrize(
    ("delta", "flag"),
    [(timedelta(days=30), ""), (timedelta(days=14), "soon"), (timedelta(hours=1), "soon"), (timedelta(0), "expired")],
)
def test_atlassian_token_expiry_is_flagged_within_14_days_and_when_past(delta: timedelta, flag: str) -> None:
    """Within 14 days is soon, at or past the moment is expired, later is unflagged."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert expiry_flag(now + delta, now) == flag
    assert expiry_flag(None, now) == ""


def test_a_sealed_cookie_opens_only_with_its_key_untampered_and_in_time() -> None:
    """Another key, a flipped character or a passed expiry all read as no session; CSRF compares the nonce."""
    cipher = Cipher.from_key(generate_key())
    session = Session.new("tok_1", 60)
    value = seal(cipher, session)
    assert open_cookie(cipher, value) == session
    assert open_cookie(Cipher.from_key(generate_key()), value) is None
    assert open_cookie(cipher, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]) is None
    assert open_cookie(cipher, seal(cipher, Session("tok_1", "n", time.time() - 1))) is None
    assert csrf_matches(session, session.nonce)
    assert not csrf_matches(session, session.nonce + "x")
    assert not csrf_matches(None, session.nonce)

"""Logs never carry MCP URL tokens or credentials."""

from __future__ import annotations

import logging

import pytest

from confluence_mcp.logs import RedactingFilter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '127.0.0.1:5 - "POST /mcp/cmcp_abcDEF123-_x HTTP/1.1" 200',
            '127.0.0.1:5 - "POST /mcp/<redacted> HTTP/1.1" 200',
        ),
        (
            "GET /.well-known/oauth-protected-resource/mcp/cmcp_secret",
            "GET /.well-known/oauth-protected-resource/mcp/<redacted>",
        ),
        ("Authorization: Bearer cmat_abc.def", "Authorization: Bearer <redacted>"),
        ("basic ZW1haWw6dG9rZW4=", "basic <redacted>"),
        ("/healthz is fine", "/healthz is fine"),
    ],
)
def test_tokens_and_credentials_are_redacted(text: str, expected: str) -> None:
    """MCP path tokens, bearer and basic credentials are replaced; other text is untouched."""
    assert redact(text) == expected


def test_filter_redacts_uvicorn_access_arguments() -> None:
    """uvicorn's access-log record (path passed as an argument) comes out redacted."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "POST", "/mcp/cmcp_supersecret", "1.1", 200),
        None,
    )
    assert RedactingFilter().filter(record)
    assert "supersecret" not in record.getMessage()
    assert "/mcp/<redacted>" in record.getMessage()

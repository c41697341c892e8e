"""Upstream TLS: an operator's CA bundle is trusted by both senders; TLS and connection failures are logged."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from confluence_mcp.errors import ConfigError, UpstreamConnectionError
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.client import open_sender
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.target import Target
from tests.support.raw_server import RawServer, keep_answering, raw_server, response
from tests.support.servers import free_port

pytestmark = pytest.mark.anyio

GET = UpstreamRequest("GET", "/wiki/api/v2/spaces", [("cursor", "q-canary")], {}, None, False)
SECRET = "ATATT3x-tls-canary"
TRANSPORTS = ["lean", "httpx"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A private certificate authority, as a Data Center site behind an internal CA would have."""
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    """The private CA's certificate as a PEM file, for ``upstream.ca_bundle``."""
    path = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def site(ca: trustme.CA) -> AsyncIterator[RawServer]:
    """An https server on 127.0.0.1 whose certificate the private CA issued."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    async with raw_server(
        keep_answering(lambda _: response(b"{}", b"Content-Type: application/json")), tls=context
    ) as s:
        yield s


def _settings(transport: str, ca_bundle: Path | None = None) -> UpstreamSettings:
    return UpstreamSettings.model_validate(
        {"transport": transport, "allowed_hosts": ["127.0.0.1"], "ca_bundle": ca_bundle, "connect_timeout": 5}
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_private_ca_in_ca_bundle_is_trusted_by_both_senders(
    site: RawServer, ca_file: Path, transport: str
) -> None:
    """With the CA's PEM in upstream.ca_bundle the call succeeds; the certificate was checked, not skipped."""
    sender = open_sender(_settings(transport, ca_file))
    try:
        answer = await sender.send(Target.basic(site.url, "me@example.com", SECRET), GET)
    finally:
        await sender.aclose()
    assert answer.status == 200
    assert answer.content == b"{}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_untrusted_certificate_fails_and_is_logged_without_secrets(
    site: RawServer, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the bundle the handshake fails: a connection error, and a warning naming the site and the cause."""
    sender = open_sender(_settings(transport))
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.upstream"):
        try:
            with pytest.raises(UpstreamConnectionError):
                await sender.send(Target.basic(site.url, "me@example.com", SECRET), GET)
        finally:
            await sender.aclose()
    (record,) = [r for r in caplog.records if r.name == "confluence_mcp.upstream"]
    line = record.getMessage()
    assert record.levelno == logging.WARNING
    assert site.url.removeprefix("https://") in line
    assert "TLS certificate not trusted" in line
    assert "upstream.ca_bundle" in line
    for secret in (SECRET, "q-canary", "Authorization", "Basic "):
        assert secret not in line


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refused_connection_is_logged_with_its_cause(transport: str, caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listening: a connection error, and a warning saying the connection was refused."""
    url = f"http://127.0.0.1:{free_port()}"
    sender = open_sender(_settings(transport))
    with caplog.at_level(logging.WARNING, logger="confluence_mcp.upstream"):
        try:
            with pytest.raises(UpstreamConnectionError):
                await sender.send(Target.basic(url, "me@example.com", SECRET), GET)
        finally:
            await sender.aclose()
    lines = [r.getMessage() for r in caplog.records if r.name == "confluence_mcp.upstream"]
    assert len(lines) == 1
    assert url.removeprefix("http://") in lines[0]
    assert "refused" in lines[0].lower()
    assert SECRET not in lines[0]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_ca_bundle_that_is_not_pem_is_a_config_error_without_its_path(tmp_path: Path, transport: str) -> None:
    """A missing or unreadable bundle stops the start with the setting named and no file path."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    for path, expected in ((junk, "not a readable PEM file"), (tmp_path / "missing.pem", "does not exist")):
        with pytest.raises(ConfigError, match=expected) as caught:
            open_sender(_settings(transport, path))
        assert str(caught.value).startswith("upstream.ca_bundle: ")
        assert str(tmp_path) not in str(caught.value)

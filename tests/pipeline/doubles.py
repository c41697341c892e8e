"""Test doubles for the pipeline tests: a recording Sender (the upstream seam) and a store of known MCP servers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from confluence_mcp.errors import UpstreamError
from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.resolver import TokenResolver
from confluence_mcp.store.base import Account, McpServer
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.memory import MemoryStore
from confluence_mcp.store.tokens import hash_token, mint_mcp_token, new_id
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.sender import UpstreamResponse
from confluence_mcp.upstream.target import Target

SITE = "https://product-ops.atlassian.net"
EMAIL = "john.smith@example.com"
ATLASSIAN_TOKEN = "atlassian-api-token-for-john"


@dataclass
class RecordingSender:
    """A Sender that records every request and answers with a prepared response, or raises a prepared error."""

    answer: UpstreamResponse | UpstreamError
    sent: list[tuple[Target, UpstreamRequest]] = field(default_factory=list)
    closed: bool = False

    async def send(self, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Record ``request`` and answer it as prepared."""
        self.sent.append((target, request))
        if isinstance(self.answer, UpstreamError):
            raise self.answer
        return self.answer

    async def aclose(self) -> None:
        """Note that the client closed us."""
        self.closed = True


@dataclass(frozen=True)
class World:
    """A real store holding one account and three MCP servers, and a real resolver over it."""

    catalog: Catalog
    store: MemoryStore
    resolver: TokenResolver
    open_token: str
    """A server without filters: every tool is visible."""
    read_token: str
    """A server with ``methods: [read]``: list and get tools only."""
    spaces_token: str
    """A server with ``tags: [spaces]``: space tools only."""
    expired_token: str
    """A server whose expiry passed an hour ago."""


def new_store() -> MemoryStore:
    """Return an empty in-memory store with a fresh secret key."""
    return MemoryStore(cipher=Cipher.from_key(generate_key()))


async def build_world(catalog: Catalog) -> World:
    """Return a store with John Smith's account and one MCP server per filter, and a resolver over it."""
    store = new_store()
    now = datetime.now(UTC)
    account = Account(new_id("acc"), "Product Ops", SITE, "basic", EMAIL, ATLASSIAN_TOKEN, None, now, now)
    await store.create_account(account)
    tokens: dict[str, str] = {}
    for name, methods, tags, expires_at in (
        ("open", (), (), None),
        ("read", ("read",), (), None),
        ("spaces", (), ("spaces",), None),
        ("expired", (), (), now - timedelta(hours=1)),
    ):
        token = mint_mcp_token()
        tokens[name] = token
        server = McpServer(
            id=new_id("mcp"),
            name=name,
            account_id=account.id,
            token_hash=hash_token(token),
            methods=methods,
            tags=tags,
            require_api_token_auth=False,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        await store.create_mcp_server(server)
    return World(
        catalog=catalog,
        store=store,
        resolver=TokenResolver(store, catalog, ttl=1.0),
        open_token=tokens["open"],
        read_token=tokens["read"],
        spaces_token=tokens["spaces"],
        expired_token=tokens["expired"],
    )

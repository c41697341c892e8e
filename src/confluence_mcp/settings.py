"""Settings: YAML file with ``${ENV}`` expansion over embedded defaults, validated once at start-up."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from confluence_mcp.errors import ConfigError
from confluence_mcp.settings_atlassian import AtlassianSettings as AtlassianSettings
from confluence_mcp.settings_env import ENV_PREFIX as ENV_PREFIX
from confluence_mcp.settings_env import environment_source, named_variable, yaml_problem
from confluence_mcp.settings_env import expand_env as expand_env
from confluence_mcp.settings_static import StaticAccount as StaticAccount
from confluence_mcp.settings_static import StaticAuth as StaticAuth
from confluence_mcp.settings_static import StaticServer as StaticServer

SECRET_KEY_ENV = "CONFLUENCE_MCP_SECRET_KEY"  # noqa: S105 - the variable name, not a secret
ALLOWED_HOSTS_ENV = "CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS"
"""A JSON list that replaces ``upstream.allowed_hosts`` (with or without a settings file)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Model):
    """The HTTP listener and what it accepts."""

    host: str = "127.0.0.1"
    """Bind address; loopback by default so a local install is not reachable from the network."""
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None
    """Base of the MCP URLs we hand out (https://mcp.example.com); default http://HOST:PORT."""
    allowed_origins: tuple[str, ...] = ("https://chatgpt.com", "https://chat.openai.com")
    """Browser Origins allowed to call /mcp; a request without Origin (curl, SDKs, mcp-remote) always passes."""
    allowed_hosts: tuple[str, ...] = ()
    """Host header values accepted (patterns may end in ':*'). Empty: loopback names when bound to a
    loopback address (a DNS-rebinding defence), any Host otherwise (behind a proxy, list your public host)."""
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    """Largest request body accepted on /mcp and the admin API; larger ones get 413."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    """Largest request head: the request target plus every header line (name, value and 4 bytes of ': ' and CRLF),
    counted as it arrives; a larger head gets 431 and the connection is closed."""
    max_header_count: int = Field(default=100, ge=1)
    """Most header lines in one request; more get 431 and the connection is closed."""
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    """Time from a request's first byte until its headers are complete; a slower client gets 408 and is closed."""
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    """Time from the end of the headers until the whole body has arrived; a slower client gets 408 and is closed."""
    send_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long a response may wait on a client that stops reading it (the write buffer full); then the connection
    is dropped."""
    keep_alive_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long a connection may stay idle, before its first request or between requests, before it is closed."""
    max_connections: int = Field(default=1000, ge=1)
    """Most open client connections; one more is answered 503 at once and closed, the open ones keep working.
    Keep it under the process's open-file limit (``ulimit -n``) less ``upstream.max_connections`` and some slack."""
    backlog: int = Field(default=2048, ge=1)
    """Connections the kernel queues until they are accepted (the listen backlog, capped by net.core.somaxconn)."""
    tools_page_size: int = Field(default=100, ge=1, le=1000)
    """tools/list page size; more tools than this are paginated with nextCursor."""
    token_cache_seconds: float = Field(default=0.5, ge=0, le=1.0)
    """How long a resolved token is trusted in-process; bounds revocation delay across processes."""

    @property
    def effective_allowed_hosts(self) -> tuple[str, ...]:
        """Return the Host allow-list in force: the configured one, or loopback names on a loopback bind."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.host in ("127.0.0.1", "localhost", "::1"):
            return ("127.0.0.1:*", "localhost:*", "[::1]:*")
        return ()

    fast_path: bool = True
    """Answer well-formed stateless tools/call, tools/list and ping without the SDK's per-request machinery."""
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    """How often expired MCP servers and API tokens, and audit records past retention, are deleted."""
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    """On SIGTERM, how long calls in flight may take to finish before the server stops anyway."""
    metrics_require_token: bool = False
    """Whether /metrics needs ``Authorization: Bearer <admin API token>`` (leave off behind a private scraper)."""


class RetrySettings(_Model):
    """Opt-in retries of upstream 429/503 answers; off by default so callers see every limit."""

    enabled: bool = False
    max_attempts: int = Field(default=3, ge=1, le=10)
    budget_seconds: float = Field(default=10.0, gt=0, le=300)
    """Total time a call may spend waiting between attempts; a longer Retry-After is not waited for."""
    methods: tuple[Literal["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"], ...] = (
        "GET",
        "HEAD",
        "OPTIONS",
    )
    """HTTP methods that may be retried; widen to PUT/DELETE/POST only knowingly."""


DEFAULT_UPSTREAM_HOSTS = ("*.atlassian.net", "api.atlassian.com")
"""Where Confluence Cloud lives: site names and the API gateway for scoped and OAuth tokens."""
DEFAULT_MEDIA_HOSTS = ("api.media.atlassian.com",)
"""Where Confluence Cloud redirects attachment downloads (a signed URL; no Confluence credentials go there)."""


def _host_pattern(entry: str) -> str:
    """Return an ``upstream.allowed_hosts`` entry lowercased, IPv6 brackets dropped; refuse URLs and ports."""
    pattern = entry.strip().lower()
    if pattern.startswith("[") and pattern.endswith("]"):
        pattern = pattern[1:-1]
    if not pattern or any(c in pattern for c in "/@ \t") or (":" in pattern and not _is_ipv6(pattern)):
        raise ValueError(f"{entry!r} is not a host name or pattern (give no scheme, port or path)")
    return pattern


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


class UpstreamSettings(_Model):
    """The shared httpx client that talks to Confluence."""

    transport: Literal["lean", "httpx"] = "lean"
    """'lean': our asyncio HTTP/1.1 pool under httpx (fast); 'httpx': httpx's own httpcore transport."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for a free pooled connection and, separately, for a TCP and TLS connect (both transports)."""
    read_timeout: float = Field(default=30.0, gt=0)
    """lean: seconds from sending the request to the last response byte; httpx: the longest wait for one read or
    write, however long the whole response takes."""
    total_timeout: float = Field(default=60.0, gt=0)
    """Seconds one exchange may take on either transport, from waiting for a connection to the last body byte."""
    max_response_bytes: int = Field(default=20_000_000, gt=0)
    """Largest response body accepted, counted as received and again once gzip or deflate is undone; a larger
    answer is cut off (its connection closed) and the call fails with a tool error naming this setting."""
    max_connections: int = Field(default=100, ge=1)
    max_keepalive_connections: int = Field(default=20, ge=0)
    keepalive_expiry: float = Field(default=30.0, ge=0)
    allowed_hosts: tuple[str, ...] = DEFAULT_UPSTREAM_HOSTS
    """Hosts accounts may use: globs ('*.atlassian.net') for public https names; an exact entry ('127.0.0.1',
    'wiki.corp.example') also allows an IP literal, a loopback name, private addresses and plain http for it."""
    ca_bundle: Path | None = None
    """A PEM file of CA certificates trusted for upstream TLS in addition to certifi's (a site behind an internal CA);
    both transports use it. Absent: certifi's public CAs only."""
    allow_http: bool = False
    """Deprecated: also allow plain http for hosts a wildcard entry matches (an exact entry already allows it)."""
    retry: RetrySettings = RetrySettings()
    media_hosts: tuple[str, ...] = DEFAULT_MEDIA_HOSTS
    """Hosts an attachment download may follow Confluence's redirect to, patterns as in ``allowed_hosts``; the
    redirect URL is signed, so no Confluence credentials are sent there. Empty: downloads are refused."""
    max_attachment_bytes: int = Field(default=1_048_576, gt=0)
    """Largest attachment ``confluence_attachments_download`` returns; a larger one is answered with its links."""
    gateway_host: str = Field(default="api.atlassian.com", exclude=True)
    """Set from ``atlassian.api_url``, not by hand: the API gateway's host, which the SSRF guard allows exactly."""

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one host: '*' allows any public https host name")
        return tuple(_host_pattern(entry) for entry in value)

    @field_validator("media_hosts")
    @classmethod
    def _media_host_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_host_pattern(entry) for entry in value)


class LimitSettings(_Model):
    """Fair share: how many tool calls one MCP server, and one account, may run at once and per minute (0 = no cap)."""

    per_server_concurrent: int = Field(default=8, ge=0)
    """Calls one MCP server may have in flight at once, per process."""
    per_server_per_minute: int = Field(default=300, ge=0)
    """Calls one MCP server may start per minute, per process."""
    per_account_concurrent: int = Field(default=16, ge=0)
    """Calls all MCP servers of one account may have in flight at once, per process."""
    per_account_per_minute: int = Field(default=600, ge=0)
    """Calls all MCP servers of one account may start per minute, per process (Atlassian limits per site)."""


class ResultSettings(_Model):
    """What tool results may cost an agent's context."""

    max_text_chars: int = Field(default=100_000, ge=2_000)
    """A result with more text is cut at a block boundary; its note says how to read on with continue_from."""


class LoggingSettings(_Model):
    """How log lines look; the level stays ``log_level`` at the top."""

    format: Literal["text", "json"] = "text"
    """``json``: one JSON object per line, with one line per MCP request (request id, MCP server id, method,
    tool, status, upstream status, duration) in place of uvicorn's access log."""


class AuditSettings(_Model):
    """The audit log: every tools/call and every admin change, in the store, for ``retention_days``."""

    retention_days: int = Field(default=30, ge=0, le=3650)
    """Days records are kept (the expiry sweep deletes older ones). 0 turns the audit log off: nothing is
    recorded, and the sweep deletes what earlier runs recorded. Give every process sharing a store the same value."""
    queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    """Records waiting for the writer at most; when full, the oldest is dropped (counted, with a warning)."""
    batch_size: int = Field(default=200, ge=1, le=10_000)
    """Records one store write takes at most; a full batch is written without waiting for the interval."""
    flush_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    """How often the writer stores what is waiting."""


class UiSettings(_Model):
    """The admin web pages under ``/ui``: sign in with an admin API token, then a session cookie."""

    enabled: bool = True
    """Serve the pages; false answers 404 under /ui (the admin REST API stays)."""
    session_minutes: int = Field(default=480, ge=5, le=10_080)
    """How long a sign-in lasts (never past the admin token's own expiry)."""


class StoreSettings(_Model):
    """Where accounts, MCP servers and API tokens live."""

    url: str | None = None
    """memory://, sqlite:///PATH or redis://HOST:PORT/DB; default sqlite in the data dir."""


class SecretSettings(_Model):
    """The key that encrypts account secrets at rest."""

    key: SecretStr | None = None
    """A Fernet key; or set CONFLUENCE_MCP_SECRET_KEY. Embedded defaults create data/secret.key."""
    previous_keys: tuple[SecretStr, ...] = ()
    """Keys retired by a rotation: account secrets still decrypt and tokens are still found under them (and re-keyed
    when used); ``confluence-mcp secrets rotate`` re-encrypts under ``key``. Embedded defaults keep them in
    data/secret.previous-keys."""


class Settings(BaseSettings):
    """Everything the server needs: the YAML file (or embedded defaults), then ``CONFLUENCE_MCP_*`` over it.

    Every key can be set from the environment as ``CONFLUENCE_MCP_<KEY>`` or ``CONFLUENCE_MCP_<SECTION>__<KEY>``
    (``CONFLUENCE_MCP_SERVER__PORT=9000``, ``CONFLUENCE_MCP_DATA_DIR=/data``); lists and objects as JSON
    (``CONFLUENCE_MCP_UPSTREAM__ALLOWED_HOSTS='["127.0.0.1"]'``). Only ``load_settings`` reads the environment;
    ``Settings.model_validate`` (tests) never does.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment wins over the file (an operator's deploy-time override), and nothing else is read."""
        return (env_settings, init_settings)

    data_dir: Path = Path("data")
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    limits: LimitSettings = LimitSettings()
    results: ResultSettings = ResultSettings()
    store: StoreSettings = StoreSettings()
    secrets: SecretSettings = SecretSettings()
    documents: tuple[Path, ...] = ()
    """OpenAPI documents to serve; empty means our own (openapi/confluence.yaml)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    logging: LoggingSettings = LoggingSettings()
    audit: AuditSettings = AuditSettings()
    ui: UiSettings = UiSettings()
    atlassian: AtlassianSettings = AtlassianSettings()
    accounts: tuple[StaticAccount, ...] = ()
    servers: tuple[StaticServer, ...] = ()
    embedded_defaults: bool = Field(default=False, exclude=True)
    """True when no settings file was given (allows creating a secret key in the data dir)."""

    @model_validator(mode="after")
    def _allow_api_host(self) -> Settings:
        # Scoped and OAuth accounts call the configured API gateway: the transports' host policy (the SSRF guard)
        # allows it exactly, as if listed in upstream.allowed_hosts, which stays as the operator wrote it.
        host = self.atlassian.api_host
        if host != self.upstream.gateway_host:
            object.__setattr__(self, "upstream", self.upstream.model_copy(update={"gateway_host": host}))
        return self

    @property
    def store_url(self) -> str:
        """Return the store URL, defaulting to a SQLite file in the data dir."""
        return self.store.url or f"sqlite:///{(self.data_dir / 'confluence-mcp.db').as_posix()}"  # relative or //abs

    @property
    def running_url_file(self) -> Path:
        """Where ``serve`` notes the base URL it answers on, so CLI commands hand out URLs with its real port."""
        return self.data_dir / "server-url"

    @property
    def public_url(self) -> str:
        """Return the base URL for MCP URLs handed out."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self.server.port}"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read settings from ``path`` (or embedded defaults) and apply non-None CLI ``overrides``."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read settings file: {exc.strerror or exc}") from exc
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML{yaml_problem(exc)}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the settings file must be a mapping of keys")
        raw = expand_env(loaded)
    server = dict(raw.get("server") or {})
    for key in ("host", "port"):
        if overrides.get(key) is not None:
            server[key] = overrides[key]
    if server:
        raw["server"] = server
    if overrides.get("data_dir") is not None:
        raw["data_dir"] = overrides["data_dir"]
    raw["embedded_defaults"] = path is None
    try:
        return Settings(**raw)  # BaseSettings.__init__ lays CONFLUENCE_MCP_* over the file
    except SettingsError as exc:  # a list or object in the environment that is not JSON
        variable = named_variable(str(exc))
        raise ConfigError(f'{variable}: must be JSON (a list such as \'["a", "b"]\', or an object)') from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        source = environment_source(first["loc"]) or (str(path) if path else "settings")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {where}: {first['msg']}{more}") from exc

"""Settings: YAML file with ``${ENV}`` expansion over embedded defaults, validated once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from confluence_mcp.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SECRET_KEY_ENV = "CONFLUENCE_MCP_SECRET_KEY"  # noqa: S105 - the variable name, not a secret


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
    """How often expired MCP servers are deleted (SQLite and memory stores)."""


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


class UpstreamSettings(_Model):
    """The shared httpx client that talks to Confluence."""

    transport: Literal["lean", "httpx"] = "lean"
    """'lean': our asyncio HTTP/1.1 pool under httpx (fast); 'httpx': httpx's own httpcore transport."""
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    """Time allowed for the whole response (lean) or between reads (httpx)."""
    max_connections: int = Field(default=100, ge=1)
    max_keepalive_connections: int = Field(default=20, ge=0)
    keepalive_expiry: float = Field(default=30.0, ge=0)
    allow_http: bool = False
    """Allow http:// instance URLs beyond loopback hosts (never needed for Confluence Cloud)."""
    allowed_hosts: tuple[str, ...] = ()
    """Glob patterns an account's instance host must match (e.g. '*.atlassian.net'); empty allows any."""
    retry: RetrySettings = RetrySettings()


class StoreSettings(_Model):
    """Where accounts, MCP servers and API tokens live."""

    url: str | None = None
    """memory://, sqlite:///PATH or redis://HOST:PORT/DB; default sqlite in the data dir."""


class SecretSettings(_Model):
    """The key that encrypts account secrets at rest."""

    key: SecretStr | None = None
    """A Fernet key; or set CONFLUENCE_MCP_SECRET_KEY. Embedded defaults create data/secret.key."""


class StaticAuth(_Model):
    """Credentials of a statically configured account."""

    type: Literal["basic", "bearer"] = "basic"
    username: str | None = None
    password: SecretStr


class StaticAccount(_Model):
    """An account declared in the settings file, loaded into the store at start-up."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: str = ""
    instance_url: str
    auth: StaticAuth
    api_token_expires_at: str | None = None


class StaticServer(_Model):
    """An MCP server declared in the settings file; its token is given, not minted."""

    token: SecretStr
    account: str
    name: str = "static"
    methods: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    require_api_token_auth: bool = False
    expires_at: str | None = None

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("a static MCP token needs at least 32 characters (use `openssl rand -base64 32`)")
        return value


class Settings(_Model):
    """Everything the server needs; built from a YAML file or from embedded defaults."""

    data_dir: Path = Path("data")
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    store: StoreSettings = StoreSettings()
    secrets: SecretSettings = SecretSettings()
    documents: tuple[Path, ...] = ()
    """OpenAPI documents to serve; empty means our own (openapi/confluence.yaml)."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    accounts: tuple[StaticAccount, ...] = ()
    servers: tuple[StaticServer, ...] = ()
    embedded_defaults: bool = Field(default=False, exclude=True)
    """True when no settings file was given (allows creating a secret key in the data dir)."""

    @property
    def store_url(self) -> str:
        """Return the store URL, defaulting to a SQLite file in the data dir."""
        return self.store.url or f"sqlite:///{(self.data_dir / 'confluence-mcp.db').as_posix()}"  # relative or //abs

    @property
    def public_url(self) -> str:
        """Return the base URL for MCP URLs handed out."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{self.server.port}"


def expand_env(value: Any, path: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string; a missing variable names its key."""
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {k: expand_env(v, f"{path}.{k}" if path else str(k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


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
            raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
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
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        source = str(path) if path else "settings"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {where}: {first['msg']}{more}") from exc

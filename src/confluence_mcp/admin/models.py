"""Pydantic models of the admin boundary: request bodies (validated once, where they enter) and response shapes.

A body that does not match its model (a wrong type, a missing or unknown field) raises ``InvalidBody``, which
names every offending field as a path such as ``config.methods[1]``. Rules that need the settings, the clock or
the tool catalog (https only, expiry windows, "no tool passes") live in ``admin.rules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    StrictBool,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import ErrorDetails

from confluence_mcp.errors import InvalidBody
from confluence_mcp.policy.filters import HideDeprecated
from confluence_mcp.store.base import (
    DEFAULT_MAX_LIMIT,
    MAX_LIMIT_CEILING,
    AuthType,
    ToolExposure,
)

__all__ = [
    "AccountCheckQuery",
    "AccountInput",
    "AccountList",
    "AccountPatch",
    "AccountSavedView",
    "AccountView",
    "AuthInput",
    "AuthView",
    "ConnectionCheckView",
    "ErrorView",
    "McpConfigInput",
    "McpConfigPatch",
    "McpConfigView",
    "McpServerCreatedView",
    "McpServerInput",
    "McpServerList",
    "McpServerPatch",
    "McpServerView",
    "RequestBody",
    "Timestamp",
    "field_path",
    "iso_z",
    "parse_input",
]

_Model = TypeVar("_Model", bound=BaseModel)


def iso_z(moment: datetime) -> str:
    """Return ``moment`` as ISO-8601 UTC with milliseconds and a ``Z``: ``2026-01-31T12:00:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_DATE_TIME_SCHEMA = {"type": "string", "format": "date-time", "examples": ["2026-12-31T00:00:00Z"]}
Timestamp = Annotated[datetime, PlainSerializer(iso_z, return_type=str), WithJsonSchema(_DATE_TIME_SCHEMA)]
"""A time in a response: always UTC, always with ``Z``."""


def field_path(loc: Sequence[int | str]) -> str:
    """Return a pydantic error location as a field path: ``('config', 'methods', 1)`` -> ``config.methods[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(body)"


def parse_input(model: type[_Model], data: Any) -> _Model:
    """Validate ``data`` against ``model``; raise ``InvalidBody`` naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Input values stay out of the message: a rejected field may hold a secret.
        problems = [{"field": field_path(e["loc"]), "message": _problem(e)} for e in exc.errors()]
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidBody(
            f"{first['field']}: {first['message']}{more}", field=first["field"], details=problems
        ) from None


def _problem(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    return error["msg"].removeprefix("Value error, ")


Label = Annotated[str, Field(min_length=1, max_length=200)]
InstanceUrl = Annotated[str, Field(max_length=2048)]
FilterList = Annotated[list[str], Field(max_length=64)]


def _within_ceiling(value: int) -> int:
    if not 1 <= value <= MAX_LIMIT_CEILING:
        raise ValueError(f"must be 1 to {MAX_LIMIT_CEILING}: Confluence v2 caps list limits at {MAX_LIMIT_CEILING}")
    return value


MaxLimit = Annotated[
    int,
    # Strict: lax mode would take true as 1 and "50" as 50.
    Field(strict=True, json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT_CEILING}),
    AfterValidator(_within_ceiling),
]
"""The cap on the ``limit`` argument of list tools: an integer from 1 to 250."""
_EXPOSURE_HELP = (
    "all: tools/list shows every tool the filters pass; discovery: only search_tools, get_tool_schema and"
    " call_tool, through which the agent finds and calls those same tools."
)
_LEAN_HELP = (
    "true: results drop _links, _expandable and empty fields and carry web_url; false: Confluence's answer as is."
)
_DEPRECATED_HELP = "Deprecated tools hidden: replaced (those another tool replaces), all, or none."
_MAX_LIMIT_HELP = f"The cap on the limit argument of list tools, 1 to {MAX_LIMIT_CEILING}."


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


def _never_null(schema: dict[str, Any]) -> None:
    """Show a PATCH key that may be left out, but not set to null, as its plain type in the JSON schema."""
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    schema.pop("default", None)


def _not_null(value: object) -> object:
    # Only runs for values actually given (pydantic does not validate defaults): PATCH keys that cannot be cleared.
    if value is None:
        raise ValueError("cannot be null; leave the key out to keep the current value")
    return value


# Request bodies


class AuthInput(RequestBody):
    """Credentials for a Confluence site (OAuth accounts are connected with ``POST /oauth/connect`` instead)."""

    type: Literal["basic", "bearer", "scoped", "oauth"] = Field(
        default="basic",
        description="basic: email + classic API token, on the site; scoped: email + scoped API token, on"
        " api.atlassian.com/ex/confluence/{cloudId} (found from the site); bearer: an access token, on the site;"
        " oauth is not given here: POST /oauth/connect.",
    )
    username: str | None = Field(
        default=None, max_length=320, description="The Atlassian account email (basic and scoped)."
    )
    password: SecretStr = Field(
        max_length=4096, description="The Atlassian API token (basic, scoped) or access token (bearer)."
    )


class AccountInput(RequestBody):
    """Body of ``POST /integrated-account``."""

    label: Label = Field(description="A name for people.")
    instance_url: InstanceUrl = Field(
        description="The site root, https://your-site.atlassian.net (no /wiki, no query)."
    )
    auth: AuthInput
    api_token_expires_at: datetime | None = Field(
        default=None, description="When the Atlassian API token expires: in the future, at most 366 days out."
    )


class AccountPatch(RequestBody):
    """Body of ``PATCH /integrated-account/{id}``: keys given replace, keys absent stay; ``auth`` is replaced whole."""

    label: Label | None = Field(default=None, json_schema_extra=_never_null)
    instance_url: InstanceUrl | None = Field(default=None, json_schema_extra=_never_null)
    auth: AuthInput | None = Field(default=None, json_schema_extra=_never_null)
    api_token_expires_at: datetime | None = Field(default=None, description="null clears it.")

    _given = field_validator("label", "instance_url", "auth")(_not_null)


class McpConfigInput(RequestBody):
    """Which tools an MCP server exposes (methods AND tags) and how, its list-limit cap, and its API-token need."""

    methods: FilterList | None = Field(
        default=None,
        description="read (list+get), write (create+update+delete), custom, or exact method names; empty = all.",
    )
    tags: FilterList | None = Field(
        default=None, description="Tool tags such as pages or spaces; any match; empty = all."
    )
    require_api_token_auth: bool = Field(
        default=False,
        description="Also require 'Authorization: Bearer <MCP client token>' on the MCP URL: an API token of scope"
        " mcp, unbound or bound to this server; admin tokens are refused.",
    )
    tool_exposure: ToolExposure = Field(default="all", description=_EXPOSURE_HELP)
    max_limit: MaxLimit = Field(default=DEFAULT_MAX_LIMIT, description=_MAX_LIMIT_HELP)
    lean_results: StrictBool = Field(default=True, description=_LEAN_HELP)
    hide_deprecated: HideDeprecated = Field(default="replaced", description=_DEPRECATED_HELP)


class McpConfigPatch(RequestBody):
    """The ``config`` of a PATCH: keys given replace, keys absent stay."""

    methods: FilterList | None = Field(default=None, description="null or [] = all methods.")
    tags: FilterList | None = Field(default=None, description="null or [] = all tags.")
    require_api_token_auth: bool | None = Field(default=None, json_schema_extra=_never_null)
    tool_exposure: ToolExposure | None = Field(default=None, description=_EXPOSURE_HELP, json_schema_extra=_never_null)
    max_limit: MaxLimit | None = Field(default=None, description=_MAX_LIMIT_HELP, json_schema_extra=_never_null)
    lean_results: StrictBool | None = Field(default=None, description=_LEAN_HELP, json_schema_extra=_never_null)
    hide_deprecated: HideDeprecated | None = Field(
        default=None, description=_DEPRECATED_HELP, json_schema_extra=_never_null
    )

    _given = field_validator("require_api_token_auth", "tool_exposure", "max_limit", "lean_results", "hide_deprecated")(
        _not_null
    )


class McpServerInput(RequestBody):
    """Body of ``POST /integrated-account/{id}/mcp``."""

    name: Label
    config: McpConfigInput = McpConfigInput()
    expires_at: datetime | None = Field(default=None, description="At least 60 s in the future; absent = never.")


class McpServerPatch(RequestBody):
    """Body of ``PATCH /integrated-account/{id}/mcp/{mcp_id}``; ``config`` is shallow-merged."""

    name: Label | None = Field(default=None, json_schema_extra=_never_null)
    config: McpConfigPatch | None = Field(default=None, json_schema_extra=_never_null)
    expires_at: datetime | None = Field(default=None, description="null clears it (the URL never expires).")

    _given = field_validator("name", "config")(_not_null)


# Response shapes


class AuthView(BaseModel):
    """Credentials as shown: the type and username, never the secret."""

    type: AuthType
    username: str | None
    cloud_id: str | None = Field(default=None, description="The site's cloudId (scoped and oauth accounts).")
    needs_reconnect: bool = Field(
        default=False, description="oauth: Atlassian refused the refresh token; reconnect with POST /oauth/connect."
    )


class AccountView(BaseModel):
    """An integrated account as the API shows it."""

    id: str
    label: str
    instance_url: str
    auth: AuthView
    api_token_expires_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class ConnectionCheckView(BaseModel):
    """What Confluence's current-user endpoint said of an account's site and credentials."""

    ok: bool
    outcome: str = Field(
        description="ok, bad_credentials (401), forbidden (403), unexpected_status, refused (a host we do not"
        " connect to), timeout, dns, tls or unreachable.",
        examples=["ok", "bad_credentials"],
    )
    message: str
    status: int | None = Field(description="Confluence's HTTP status, when it answered.")
    display_name: str | None = Field(description="The Atlassian user the credentials belong to.")
    account_id: str | None = Field(description="That user's Atlassian accountId.")


class AccountSavedView(AccountView):
    """An account just created or changed, with the result of its connection check."""

    check: ConnectionCheckView | None = Field(
        description="null: the check was skipped (check=false) or nothing it tests changed."
    )


class McpConfigView(BaseModel):
    """An MCP server's config as stored (empty filters = no restriction)."""

    methods: list[str]
    tags: list[str]
    require_api_token_auth: bool
    tool_exposure: ToolExposure
    max_limit: int
    lean_results: bool
    hide_deprecated: HideDeprecated


class McpServerView(BaseModel):
    """An MCP server as the API shows it; never its token."""

    id: str
    name: str
    integrated_account_id: str
    config: McpConfigView
    expires_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class McpServerCreatedView(McpServerView):
    """A new MCP server with its secret URL and token, shown this once only."""

    url: str = Field(description="<public_url>/mcp/<token>: give it to the agent; anyone holding it can use it.")
    token: str


class AccountList(BaseModel):
    """A list of integrated accounts."""

    result: list[AccountView]


class McpServerList(BaseModel):
    """A list of MCP servers."""

    result: list[McpServerView]


class ErrorView(BaseModel):
    """Every error answer: a stable code, a message naming the field or record, and optional details."""

    error: str = Field(examples=["invalid_value"])
    message: str
    details: Any = Field(default=None, description="For 400/422: a list of {field, message}.")


class AccountCheckQuery(RequestBody):
    """Query of ``POST``/``PATCH`` on accounts: whether to test the credentials first."""

    check: bool = Field(
        default=True,
        description="Test the site and credentials against Confluence's current-user endpoint first, and refuse"
        " the change (422 connection_check_failed, naming auth or instance_url) if they fail; false skips it.",
    )

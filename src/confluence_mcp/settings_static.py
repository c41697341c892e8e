"""The ``accounts`` and ``servers`` settings sections: accounts and MCP servers declared in the settings file.

Their own module so ``settings`` stays one screenful per section; ``settings`` imports them as its sections.
The admin rules (``admin/static.py``) check them as they check the admin API's bodies.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["StaticAccount", "StaticAuth", "StaticServer"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaticAuth(_Model):
    """Credentials of a statically configured account."""

    type: Literal["basic", "bearer", "scoped", "oauth"] = "basic"
    """basic, scoped (email + scoped token; the cloudId is found at start-up) or bearer; oauth is refused by name."""
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
    tool_exposure: str | None = None
    """all (every tool in tools/list) or discovery (only the three meta tools); absent: all."""
    max_limit: int | None = None
    """The cap on list tools' limit argument, 1 to 250; absent: 100. Range and exposure are the admin rules'."""
    lean_results: bool | None = None
    """Results without ``_links``, ``_expandable`` and empty fields, with ``web_url``; absent: true."""
    hide_deprecated: str | None = None
    """replaced (deprecated tools another tool replaces are hidden), all or none; absent: replaced."""

    @field_validator("max_limit", mode="before")
    @classmethod
    def _not_a_flag(cls, value: object) -> object:
        # Lax int parsing would read true as 1; numeric text (from ${ENV}) still converts.
        if isinstance(value, bool):
            raise ValueError("give a number, not true or false")
        return value

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("a static MCP token needs at least 32 characters (use `openssl rand -base64 32`)")
        return value

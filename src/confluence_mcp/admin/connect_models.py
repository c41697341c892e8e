"""Admin boundary models of Connect with Atlassian: the ``POST /oauth/connect`` body and its answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from confluence_mcp.admin.models import Label, RequestBody, Timestamp

__all__ = ["OAuthConnectInput", "OAuthConnectView"]


class OAuthConnectInput(RequestBody):
    """Body of ``POST /oauth/connect``: a label for a new account, or the id of an account to reconnect."""

    label: Label | None = Field(default=None, description="A name for the new account (default: the site's name).")
    account_id: str | None = Field(
        default=None, max_length=64, description="Reconnect this oauth account instead of creating one."
    )


class OAuthConnectView(BaseModel):
    """Where to send the operator's browser to connect with Atlassian."""

    authorize_url: str = Field(description="Open it, sign in and approve; Atlassian then calls redirect_uri.")
    redirect_uri: str = Field(description="This server's callback; register it in the Atlassian OAuth app.")
    expires_at: Timestamp

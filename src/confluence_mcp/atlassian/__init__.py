"""Atlassian's platform around Confluence: scoped and OAuth (3LO) accounts, their cloudId, their tokens.

``tokens`` is how an OAuth account's tokens are stored (in its encrypted secret); ``connect`` builds the
authorize URL and checks the callback's state; ``platform`` calls tenant_info, the token endpoint and
accessible-resources; ``refresh`` keeps access tokens fresh, one refresh per account across replicas.
It imports the store and the upstream guard, never the server, the pipeline or the admin layer.
"""

from confluence_mcp.atlassian.refresh import OAuthRefresher
from confluence_mcp.atlassian.tokens import OAuthTokens, gateway_base

__all__ = ["OAuthRefresher", "OAuthTokens", "gateway_base"]

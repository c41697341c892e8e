"""Secret tokens for MCP URLs and the admin API: mint, hash, compare in constant time; record ids."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

__all__ = [
    "API_TOKEN_PREFIX",
    "MCP_TOKEN_PREFIX",
    "hash_token",
    "mint_api_token",
    "mint_mcp_token",
    "new_id",
    "token_matches",
]

MCP_TOKEN_PREFIX = "cmcp_"  # noqa: S105 - a public prefix, not a secret
API_TOKEN_PREFIX = "cmat_"  # noqa: S105 - a public prefix, not a secret

# 32 bytes = 256 random bits; token_urlsafe turns them into 43 URL-safe characters.
_TOKEN_BYTES = 32


def mint_mcp_token() -> str:
    """Return a new secret for an MCP URL: ``cmcp_`` followed by 256 random bits, URL-safe."""
    return MCP_TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def mint_api_token() -> str:
    """Return a new admin API bearer token: ``cmat_`` followed by 256 random bits, URL-safe."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored and looked up."""
    # No salt and no slow KDF, on purpose: salts and stretching defend guessable passwords, but these
    # tokens carry 256 random bits, so neither brute force nor precomputed tables can reach them.
    # An unsalted hash is also what lets a request find its record with one indexed lookup.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, token_hash: str) -> bool:
    """Return whether ``token`` hashes to ``token_hash``, in time independent of where they differ."""
    return hmac.compare_digest(hash_token(token).encode("ascii"), token_hash.encode("utf-8"))


def new_id(prefix: str) -> str:
    """Return a new record id such as ``acc_3f2a…``: the prefix, an underscore and a random UUID in hex."""
    return f"{prefix}_{uuid.uuid4().hex}"

"""Secret tokens for MCP URLs and the admin API: mint, hash (keyed), compare in constant time; record ids."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

__all__ = [
    "API_TOKEN_PREFIX",
    "MCP_TOKEN_PREFIX",
    "TokenHasher",
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
    """Return the unkeyed SHA-256 hex digest: how tokens were stored before keyed hashes, still found by them."""
    # No salt and no slow KDF, on purpose: salts and stretching defend guessable passwords, but these
    # tokens carry 256 random bits, so neither brute force nor precomputed tables can reach them.
    # An unsalted hash is also what lets a request find its record with one indexed lookup.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenHasher:
    """Keyed token hashes: HMAC-SHA256 under a key derived from the server's secret key, naming that key.

    A stored hash reads ``k<key id>:<hex>``; a store dump alone cannot test a guessed token against it. Hashes
    made under a previous secret key (``secrets.previous_keys``) and unkeyed SHA-256 digests (before keyed
    hashes) are still found through ``candidates``, and re-keyed by whoever finds them (``TokenResolver``).
    """

    __slots__ = ("_keys",)

    def __init__(self, secret_keys: Sequence[str]) -> None:
        # The hash key is derived, not the Fernet key itself, so one secret never serves two algorithms raw.
        derived = [
            hmac.new(key.strip().encode("ascii"), _HASH_KEY_LABEL, hashlib.sha256).digest() for key in secret_keys
        ]
        self._keys = tuple((f"k{hashlib.sha256(key).hexdigest()[:8]}:", key) for key in derived)

    def hash(self, token: str) -> str:
        """Return the hash ``token`` is stored under now (unkeyed only when the hasher has no key)."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        if not self._keys:
            return digest.hex()
        key_id, key = self._keys[0]
        return key_id + hmac.new(key, digest, hashlib.sha256).hexdigest()

    def candidates(self, token: str) -> tuple[str, ...]:
        """Return every hash ``token`` may be stored under, the current one first, the unkeyed digest last."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        keyed = tuple(key_id + hmac.new(key, digest, hashlib.sha256).hexdigest() for key_id, key in self._keys)
        return (*keyed, digest.hex())

    def from_unkeyed(self, token_hash: str) -> str | None:
        """Return the current keyed hash for an unkeyed SHA-256 digest (no token needed), or None for another form."""
        if not self._keys or len(token_hash) != 64 or ":" in token_hash:
            return None
        try:
            digest = bytes.fromhex(token_hash)
        except ValueError:
            return None
        key_id, key = self._keys[0]
        return key_id + hmac.new(key, digest, hashlib.sha256).hexdigest()

    def is_current(self, token_hash: str) -> bool:
        """Return whether ``token_hash`` was made under the current key (so it needs no re-keying)."""
        if not self._keys:
            return ":" not in token_hash
        return token_hash.startswith(self._keys[0][0])


_HASH_KEY_LABEL = b"confluence-mcp token hash v1"


def token_matches(token: str, token_hash: str) -> bool:
    """Return whether ``token`` hashes to ``token_hash``, in time independent of where they differ."""
    return hmac.compare_digest(hash_token(token).encode("ascii"), token_hash.encode("utf-8"))


def new_id(prefix: str) -> str:
    """Return a new record id such as ``acc_3f2a…``: the prefix, an underscore and a random UUID in hex."""
    return f"{prefix}_{uuid.uuid4().hex}"

"""Token minting, hashing and comparison; what a token's scope opens; account-secret encryption and the key file."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from confluence_mcp.errors import ConfigError, StoreError
from confluence_mcp.store.base import ApiToken, TokenScope
from confluence_mcp.store.cipher import Cipher, generate_key, load_or_create_key_file
from confluence_mcp.store.tokens import hash_token, mint_api_token, mint_mcp_token, new_id, token_matches

URL_SAFE_43 = r"[A-Za-z0-9_-]{43}"


def test_mcp_tokens_carry_their_prefix_and_256_random_bits() -> None:
    """An MCP token is ``cmcp_`` plus 43 URL-safe characters (256 bits), never repeated."""
    tokens = {mint_mcp_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(re.fullmatch(rf"cmcp_{URL_SAFE_43}", token) for token in tokens)


@pytest.mark.parametrize(
    ("scope", "server_ids", "admin_api", "on_srv_1"),
    [
        ("admin", (), True, False),
        ("admin", ("srv_1",), True, False),  # the service never writes this; it still opens no MCP server
        ("mcp", (), False, True),
        ("mcp", ("srv_1", "srv_2"), False, True),
        ("mcp", ("srv_2",), False, False),
        ("mcp", ("srv_10",), False, False),  # ids match whole, not by prefix
    ],
)
def test_a_token_scope_opens_the_admin_api_or_its_mcp_servers_never_both(
    scope: TokenScope, server_ids: tuple[str, ...], admin_api: bool, on_srv_1: bool
) -> None:
    """Admin tokens open the admin API only; MCP client tokens open their bound servers (all when unbound) only."""
    token = ApiToken("tok_1", "t", hash_token("x"), datetime(2030, 1, 1, tzinfo=UTC), None, scope, server_ids)

    assert token.opens_admin_api() is admin_api
    assert token.opens_mcp_server("srv_1") is on_srv_1


def test_api_tokens_carry_their_prefix_and_256_random_bits() -> None:
    """An API token is ``cmat_`` plus 43 URL-safe characters (256 bits), never repeated."""
    tokens = {mint_api_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(re.fullmatch(rf"cmat_{URL_SAFE_43}", token) for token in tokens)


def test_token_hash_is_the_sha256_hex_digest() -> None:
    """hash_token gives the plain SHA-256 hex digest, the same on every call."""
    token = mint_mcp_token()

    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) == hash_token(token)
    assert hash_token(token) != hash_token(mint_mcp_token())


def test_token_matches_only_its_own_hash() -> None:
    """token_matches accepts the token's own hash and rejects any other, including odd input."""
    token = mint_api_token()

    assert token_matches(token, hash_token(token))
    assert not token_matches(token, hash_token(mint_api_token()))
    assert not token_matches(token, "")
    assert not token_matches("ünïcode", hash_token(token))


def test_new_ids_carry_their_prefix_and_never_repeat() -> None:
    """new_id gives the prefix, an underscore and 32 hex digits, unique per call."""
    ids = {new_id("srv") for _ in range(100)}

    assert len(ids) == 100
    assert all(re.fullmatch(r"srv_[0-9a-f]{32}", each) for each in ids)


def test_cipher_round_trips_a_secret_through_text_that_hides_it() -> None:
    """Encrypting gives ASCII text without the secret, different each time, that decrypts back."""
    cipher = Cipher.from_key(generate_key())
    secret = "ATATT3x-ünïcode-secret"

    first, second = cipher.encrypt(secret), cipher.encrypt(secret)

    assert first.isascii()
    assert secret not in first
    assert first != second
    assert cipher.decrypt(first) == secret
    assert cipher.decrypt(second) == secret


def test_decrypting_under_another_key_raises_store_error_suggesting_the_key() -> None:
    """Text encrypted under one key fails to decrypt under another with a StoreError naming the likely cause."""
    ciphertext = Cipher.from_key(generate_key()).encrypt("secret")

    with pytest.raises(StoreError, match=r"^cannot decrypt account secret: wrong secret key\?$"):
        Cipher.from_key(generate_key()).decrypt(ciphertext)


def test_decrypting_garbage_raises_store_error() -> None:
    """Text that is no Fernet token at all fails like a wrong key."""
    with pytest.raises(StoreError, match="cannot decrypt account secret"):
        Cipher.from_key(generate_key()).decrypt("not-a-token-ü")


@pytest.mark.parametrize("key", ["", "short", "x" * 44, generate_key()[:-2]])
def test_a_bad_key_raises_config_error_naming_the_setting_but_not_the_key(key: str) -> None:
    """A key that is not 32 bytes of URL-safe base64 raises ConfigError naming secrets.key, never echoing it."""
    with pytest.raises(ConfigError, match=r"^secrets\.key: not a valid secret key") as caught:
        Cipher.from_key(key)

    assert not key or key not in str(caught.value)


def test_a_bad_key_error_names_the_given_source() -> None:
    """The ``source`` argument replaces secrets.key in the message, e.g. with a key file's path."""
    with pytest.raises(ConfigError, match=r"^/etc/cmcp\.key: not a valid secret key"):
        Cipher.from_key("short", source="/etc/cmcp.key")


def test_key_file_is_created_owner_only_with_a_usable_key(tmp_path: Path) -> None:
    """A missing key file is created, with its directory, readable by the owner alone, holding a working key."""
    path = tmp_path / "secrets" / "store.key"

    key = load_or_create_key_file(path)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().strip() == key
    assert Cipher.from_key(key).decrypt(Cipher.from_key(key).encrypt("x")) == "x"


def test_existing_key_file_is_read_not_replaced(tmp_path: Path) -> None:
    """A second call returns the key the first call wrote."""
    path = tmp_path / "store.key"

    assert load_or_create_key_file(path) == load_or_create_key_file(path)


def test_empty_key_file_raises_config_error_naming_the_file(tmp_path: Path) -> None:
    """An empty key file is an error naming the file, not a reason to write a new key."""
    path = tmp_path / "store.key"
    path.write_text("\n")

    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: the secret key file is empty$"):
        load_or_create_key_file(path)

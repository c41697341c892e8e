"""Keyed token hashes: HMAC-SHA256 under a key derived from the secret key; older forms are still candidates."""

from __future__ import annotations

import hashlib
import re

import pytest

from confluence_mcp.errors import ConfigError, StoreError
from confluence_mcp.store.cipher import Cipher, generate_key
from confluence_mcp.store.tokens import TokenHasher, hash_token, mint_mcp_token


def test_a_keyed_hash_names_its_key_and_depends_on_it() -> None:
    """The same token hashes differently under two keys, never to its plain SHA-256, and the same on every call."""
    token = mint_mcp_token()
    one, two = TokenHasher([generate_key()]), TokenHasher([generate_key()])
    assert one.hash(token) == one.hash(token)
    assert one.hash(token) != two.hash(token)
    assert re.fullmatch(r"k[0-9a-f]{8}:[0-9a-f]{64}", one.hash(token))
    assert hashlib.sha256(token.encode()).hexdigest() not in one.hash(token)
    assert one.is_current(one.hash(token))
    assert not one.is_current(two.hash(token))
    assert not one.is_current(hash_token(token))


def test_candidates_are_the_current_hash_then_previous_keys_then_the_unkeyed_digest() -> None:
    """A token stored under a retired key or before keyed hashes is still found; the current hash comes first."""
    token = mint_mcp_token()
    new, old = generate_key(), generate_key()
    rotated = TokenHasher([new, old])
    assert rotated.candidates(token) == (
        TokenHasher([new]).hash(token),
        TokenHasher([old]).hash(token),
        hash_token(token),
    )
    assert rotated.hash(token) == TokenHasher([new]).hash(token)


def test_a_hasher_without_keys_stores_the_unkeyed_digest() -> None:
    """Test doubles that pass no hasher keep the pre-keyed behaviour."""
    token = mint_mcp_token()
    assert TokenHasher(()).hash(token) == hash_token(token)
    assert TokenHasher(()).candidates(token) == (hash_token(token),)


def test_a_rotated_cipher_decrypts_under_both_keys_and_encrypts_under_the_new_one() -> None:
    """During a rotation old ciphertexts still open; new ones open only with the new key."""
    old, new = generate_key(), generate_key()
    before = Cipher.from_key(old).encrypt("ATATT-secret")
    rotated = Cipher.from_keys(new, [old])
    assert rotated.decrypt(before) == "ATATT-secret"
    after = rotated.encrypt("ATATT-secret")
    assert Cipher.from_key(new).decrypt(after) == "ATATT-secret"
    with pytest.raises(StoreError, match="wrong secret key"):
        Cipher.from_key(old).decrypt(after)
    assert rotated.hasher.hash("t") == TokenHasher([new, old]).hash("t")


def test_a_bad_previous_key_is_named_by_its_position_and_never_shown() -> None:
    """secrets.previous_keys[1] is named; the value does not reach the message."""
    with pytest.raises(ConfigError, match=r"^secrets\.previous_keys\[1\]: not a valid secret key") as caught:
        Cipher.from_keys(generate_key(), [generate_key(), "not-a-key-value"])
    assert "not-a-key-value" not in str(caught.value)

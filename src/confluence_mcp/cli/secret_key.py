"""``confluence-mcp secrets rotate``: a new secret key for account secrets and token hashes, losing nothing.

Two ways to hold the key, two ways to rotate:

- **The data dir's key file** (embedded defaults): ``rotate`` makes a new key, keeps the old one in
  ``secret.previous-keys``, then re-encrypts every account under the new key. Restart the servers on that data
  dir afterwards: until then they hold only the old key.
- **``secrets.key`` or ``CONFLUENCE_MCP_SECRET_KEY``**: put the new key there and the old one in
  ``secrets.previous_keys`` (``CONFLUENCE_MCP_SECRETS__PREVIOUS_KEYS='["OLD"]'``), restart the servers (both keys
  work), then run ``rotate``: it re-encrypts every account under the new key.

Either way every account record is read and written back through the store, and every store seals accounts with
``Cipher.sealed``, the one list of an account's secret fields: whatever it lists is re-encrypted. Token hashes
stored unkeyed are re-keyed here; those under a retired key can only be re-keyed with the token itself, so each
moves when next used, and ``rotate`` says how many are left: remove the retired key once none are (a token that
never comes back then stops working, as a revoked one would).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import anyio

from confluence_mcp.cli.context import add_settings_options, settings_from
from confluence_mcp.errors import ConfigError
from confluence_mcp.settings import SECRET_KEY_ENV, Settings
from confluence_mcp.store.cipher import (
    KEY_FILE,
    PREVIOUS_KEYS_FILE,
    Cipher,
    generate_key,
    load_or_create_key_file,
    read_previous_keys,
    write_key_files,
)
from confluence_mcp.store.rekeying import rekey_unkeyed

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Register ``secrets rotate`` on ``commands``."""
    group = commands.add_parser("secrets", help="manage the secret key that encrypts account secrets")
    sub = group.add_subparsers(title="secrets commands", metavar="COMMAND")
    rotate = sub.add_parser("rotate", help="re-encrypt every account under a new secret key and re-key token hashes")
    add_settings_options(rotate)
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if settings.store_url.startswith("memory://"):
        raise ConfigError("store.url: memory:// forgets everything when this command ends; use sqlite or redis")
    cipher = _rotated_cipher(settings)
    accounts, unkeyed, retired = anyio.run(_reseal, settings, cipher)
    print(f"re-encrypted {accounts} account(s) under the current secret key")
    print(f"re-keyed {unkeyed} unkeyed token hash(es)")
    if retired:
        print(f"{retired} token(s) still hashed under a retired key: each moves to the current key when next used")
    else:
        print("no token is hashed under a retired key: the retired keys may be removed")
    return 0


def _rotated_cipher(settings: Settings) -> Cipher:
    """Return the cipher to re-encrypt with; for the data dir's key file, first write the new key beside the old."""
    from confluence_mcp.server.app import secret_cipher

    configured = settings.secrets.key is not None or bool(os.environ.get(SECRET_KEY_ENV))
    if configured:
        if not settings.secrets.previous_keys:
            source = "secrets.key" if settings.secrets.key is not None else SECRET_KEY_ENV
            raise ConfigError(
                f"secrets.previous_keys: empty; set the new key in {source}, move the old one to "
                "secrets.previous_keys, restart the servers, then run this again"
            )
        return secret_cipher(settings)
    if not settings.embedded_defaults:
        return secret_cipher(settings)  # raises: no key configured
    old = load_or_create_key_file(settings.data_dir / KEY_FILE)
    retired = [old, *read_previous_keys(settings.data_dir / PREVIOUS_KEYS_FILE)]
    new = generate_key()
    # The files first: were the re-encryption cut short, every record still opens under one of the kept keys.
    write_key_files(settings.data_dir, new, retired)
    print(f"wrote a new key to data/{KEY_FILE}; the old one is kept in data/{PREVIOUS_KEYS_FILE}")
    print("restart every server process on this data dir so that it uses the new key")
    return Cipher.from_keys(new, retired, source=f"data/{KEY_FILE}")


async def _reseal(settings: Settings, cipher: Cipher) -> tuple[int, int, int]:
    """Write every account back under the current key; re-key unkeyed token hashes; count retired-key ones."""
    from confluence_mcp.store.opening import open_store

    store = open_store(settings.store_url, cipher=cipher)
    await store.open()
    try:
        accounts = await store.list_accounts()  # decrypted under whichever key sealed each
        for account in accounts:
            await store.update_account(account)  # sealed again, under the current key
        unkeyed, retired = await rekey_unkeyed(store, cipher.hasher)
    finally:
        await store.close()
    return len(accounts), unkeyed, retired

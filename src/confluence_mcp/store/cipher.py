"""Account secrets encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256) under the secret key, and key files."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from confluence_mcp.errors import ConfigError, StoreError
from confluence_mcp.store.base import Account
from confluence_mcp.store.tokens import TokenHasher

__all__ = [
    "KEY_FILE",
    "PREVIOUS_KEYS_FILE",
    "Cipher",
    "generate_key",
    "load_or_create_key_file",
    "read_previous_keys",
    "write_key_files",
]

KEY_FILE = "secret.key"
"""The key file embedded defaults create in the data dir."""
PREVIOUS_KEYS_FILE = "secret.previous-keys"
"""Keys ``secrets rotate`` retired from the key file, one a line, newest first."""


class Cipher:
    """Encrypts account secrets under the current key and decrypts under it or a previous one; hashes tokens.

    Build one with ``Cipher.from_key`` or, during a key rotation, ``Cipher.from_keys``.
    """

    __slots__ = ("_fernet", "hasher")

    def __init__(self, keys: Sequence[tuple[Fernet, str]]) -> None:
        self._fernet = MultiFernet([fernet for fernet, _ in keys])
        self.hasher = TokenHasher([key for _, key in keys])
        """Token hashes keyed by the same secret keys, the current one first."""

    @classmethod
    def from_key(cls, key: str, *, source: str = "secrets.key") -> Cipher:
        """Return a cipher for a Fernet key; ``source`` names the setting or file in the error."""
        return cls.from_keys(key, (), source=source)

    @classmethod
    def from_keys(cls, key: str, previous: Sequence[str], *, source: str = "secrets.key") -> Cipher:
        """Return a cipher encrypting under ``key`` that still decrypts (and finds token hashes) under ``previous``."""
        keys = [(_fernet(key, source), key.strip())]
        keys.extend((_fernet(old, f"secrets.previous_keys[{i}]"), old.strip()) for i, old in enumerate(previous))
        return cls(keys)

    def encrypt(self, plaintext: str) -> str:
        """Return the Fernet token (ASCII text) for ``plaintext``; each call gives a different token."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Return the plaintext of a token made by ``encrypt`` under the current or a previous key."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise StoreError("cannot decrypt account secret: wrong secret key?") from exc

    def sealed(self, account: Account) -> Account:
        """Return ``account`` with every secret it holds encrypted: the one list of an account's secret fields.

        Every store seals through here and ``secrets rotate`` rewrites accounts through the stores, so a secret
        field added to accounts is encrypted at rest and re-encrypted by a rotation once it is listed here.
        """
        return dataclasses.replace(account, secret=self.encrypt(account.secret))

    def opened(self, account: Account) -> Account:
        """Return a sealed ``account`` with its secrets decrypted (under the current or a previous key)."""
        return dataclasses.replace(account, secret=self.decrypt(account.secret))


def _fernet(key: str, source: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
        # The key itself never goes into the message: it is the one secret that unlocks all others.
        raise ConfigError(
            f"{source}: not a valid secret key; expected 32 random bytes in URL-safe base64 (44 characters)"
        ) from exc


def generate_key() -> str:
    """Return a new random secret key in the form ``Cipher.from_key`` accepts."""
    return Fernet.generate_key().decode("ascii")


def load_or_create_key_file(path: str | os.PathLike[str]) -> str:
    """Return the key stored in ``path``, first creating the file (mode 0600) with a new key if it is missing."""
    file = Path(path)
    try:
        return _read_key_file(file)
    except FileNotFoundError:
        pass
    key = generate_key()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        # Created with its final mode in one step, so the key is never readable by others, not even briefly.
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(file)  # another process created it first; use theirs
    except OSError as exc:
        raise ConfigError(f"{file}: cannot create the secret key file: {exc.strerror}") from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _read_key_file(file: Path) -> str:
    try:
        key = file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{file}: cannot read the secret key file: {exc}") from exc
    if not key:
        raise ConfigError(f"{file}: the secret key file is empty")
    return key


def read_previous_keys(path: str | os.PathLike[str]) -> list[str]:
    """Return the retired keys in ``path``, newest first; none when the file does not exist."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"data/{PREVIOUS_KEYS_FILE}: cannot read the retired keys: {type(exc).__name__}") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def write_key_files(data_dir: str | os.PathLike[str], key: str, previous: Sequence[str]) -> None:
    """Replace the key file with ``key`` and the retired-keys file with ``previous``, each atomically, mode 0600."""
    directory = Path(data_dir)
    # Retired keys first: a crash in between leaves the old key findable, never an orphaned new one.
    _write_private(directory / PREVIOUS_KEYS_FILE, "".join(f"{old}\n" for old in previous))
    _write_private(directory / KEY_FILE, key + "\n")


def _write_private(file: Path, text: str) -> None:
    staging = file.with_name(file.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    staging.replace(file)

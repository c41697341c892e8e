"""Account secrets encrypted at rest with Fernet (AES-128-CBC and HMAC-SHA256) under one secret key."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from confluence_mcp.errors import ConfigError, StoreError

__all__ = ["Cipher", "generate_key", "load_or_create_key_file"]


class Cipher:
    """Encrypts and decrypts account secrets; build one with ``Cipher.from_key``."""

    __slots__ = ("_fernet",)

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    @classmethod
    def from_key(cls, key: str, *, source: str = "secrets.key") -> Cipher:
        """Return a cipher for a Fernet key; ``source`` names the setting or file in the error."""
        try:
            fernet = Fernet(key.strip())
        except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
            # The key itself never goes into the message: it is the one secret that unlocks all others.
            raise ConfigError(
                f"{source}: not a valid secret key; expected 32 random bytes in URL-safe base64 (44 characters)"
            ) from exc
        return cls(fernet)

    def encrypt(self, plaintext: str) -> str:
        """Return the Fernet token (ASCII text) for ``plaintext``; each call gives a different token."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Return the plaintext of a token made by ``encrypt`` under the same key."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise StoreError("cannot decrypt account secret: wrong secret key?") from exc


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

"""Sign-in sessions of the web pages: sealed cookies, their CSRF tokens, and the list of signed-out ones.

A session cookie holds the admin token's id (never the token), a random nonce and an expiry, encrypted and
authenticated with the server's secret key (Fernet, the store's cipher), so every replica sharing the key
reads it and nobody else can forge or read it. The nonce doubles as the CSRF token every form carries (the
synchronizer-token pattern: the page shows it, the cookie proves it). Before sign-in, a short-lived cookie
of the same kind gives the sign-in form its CSRF token. Signing out forgets the nonce in this process; the
cookie is deleted too, and the token's revocation ends every session at once, since each request checks the
token is still live.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass

from confluence_mcp.errors import StoreError
from confluence_mcp.store.cipher import Cipher

__all__ = ["PRE_SESSION_COOKIE", "SESSION_COOKIE", "Session", "SignedOut", "csrf_matches", "open_cookie", "seal"]

SESSION_COOKIE = "cmcp_session"
PRE_SESSION_COOKIE = "cmcp_signin"
PRE_SESSION_SECONDS = 3600
"""How long a sign-in form stays usable."""


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser (``token_id`` set) or one on the sign-in form (``token_id`` empty)."""

    token_id: str
    nonce: str
    """Random; the CSRF token of this session's forms."""
    expires: float
    """Unix time the cookie stops being accepted."""

    @classmethod
    def new(cls, token_id: str, seconds: float) -> Session:
        """Return a fresh session for ``token_id`` lasting ``seconds``."""
        return cls(token_id, secrets.token_urlsafe(24), time.time() + seconds)


def seal(cipher: Cipher, session: Session) -> str:
    """Return the cookie value: the session encrypted and authenticated under the server key."""
    payload = json.dumps({"t": session.token_id, "n": session.nonce, "e": session.expires}, separators=(",", ":"))
    return cipher.encrypt(payload)


def open_cookie(cipher: Cipher, value: str | None) -> Session | None:
    """Return the session sealed in ``value``, or None when it is absent, forged, garbled or expired."""
    if not value or len(value) > 4096:
        return None
    try:
        data = json.loads(cipher.decrypt(value))
    except (StoreError, ValueError, UnicodeError):
        return None
    if not isinstance(data, dict):
        return None
    token_id, nonce, expires = data.get("t"), data.get("n"), data.get("e")
    if not isinstance(token_id, str) or not isinstance(nonce, str) or not isinstance(expires, int | float):
        return None
    if expires <= time.time():
        return None
    return Session(token_id, nonce, float(expires))


def csrf_matches(session: Session | None, sent: str | None) -> bool:
    """Return whether ``sent`` is the CSRF token of ``session`` (compared in constant time)."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.nonce.encode(), sent.encode())


class SignedOut:
    """The nonces of sessions signed out in this process, kept until their cookies would have expired anyway."""

    def __init__(self) -> None:
        self._nonces: dict[str, float] = {}

    def add(self, session: Session) -> None:
        """Remember that ``session`` signed out."""
        now = time.time()
        self._nonces = {nonce: until for nonce, until in self._nonces.items() if until > now}
        self._nonces[session.nonce] = session.expires

    def __contains__(self, session: object) -> bool:
        return isinstance(session, Session) and session.nonce in self._nonces

"""Console sessions and CSRF tokens: HMAC-signed values, expiry decided by the server.

A session cookie carries ``user | issued | last seen | nonce`` and an HMAC-SHA256 over them. The key
of that HMAC is derived from the node's session secret *and* the user's current password hash, so
changing a password ends every session of that user. The server, not the cookie's Max-Age, decides
expiry: a session ends after ``idle`` without a request or ``lifetime`` after login, whichever comes
first. Logging out revokes the nonce on this process (and clears the cookie).

A CSRF token is an HMAC of the session nonce (or, before login, of a random value in a separate
cookie), so a page from another site cannot produce one. Pure: no I/O, no web framework.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

REFRESH_AFTER_S = 60  # re-issue the cookie (new "last seen") at most once a minute


@dataclass(frozen=True)
class Session:
    user: str
    issued: int  # UTC epoch seconds
    seen: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, secret: bytes, *, idle_s: int = 2 * 3600, lifetime_s: int = 12 * 3600) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret needs at least 16 bytes")
        if idle_s <= 0 or lifetime_s <= 0:
            raise ValueError("session idle time and lifetime must be positive")
        self._secret = secret
        self.idle_s, self.lifetime_s = idle_s, lifetime_s
        self._revoked: dict[str, int] = {}  # nonce -> when it would have expired anyway
        self._lock = threading.Lock()

    def _key(self, stamp: str) -> bytes:
        return hmac.new(self._secret, b"session|" + stamp.encode(), hashlib.sha256).digest()

    def _sign(self, s: Session, stamp: str) -> str:
        if "|" in s.user:
            raise ValueError("a user name may not contain '|'")
        payload = f"{s.user}|{s.issued}|{s.seen}|{s.nonce}".encode()
        mac = hmac.new(self._key(stamp), payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def issue(self, user: str, stamp: str, now: int) -> tuple[Session, str]:
        """A new session for ``user`` (``stamp``: the user's password hash) and its cookie value."""
        s = Session(user, now, now, secrets.token_urlsafe(18))
        return s, self._sign(s, stamp)

    def read(self, token: str | None, stamp_of: Callable[[str], str | None], now: int) -> Session | None:
        """The session in a cookie value, or None if it is missing, forged, expired or revoked."""
        if not token or len(token) > 1024 or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
            if _b64(payload) != body or _b64(given) != mac:  # one spelling only (no spare bits)
                return None
            user, issued, seen, nonce = payload.decode("utf-8").split("|")
            s = Session(user, int(issued), int(seen), nonce)
        except (ValueError, UnicodeDecodeError):
            return None
        stamp = stamp_of(s.user)
        if stamp is None:
            return None
        if not hmac.compare_digest(hmac.new(self._key(stamp), payload, hashlib.sha256).digest(), given):
            return None
        if now - s.seen > self.idle_s or now - s.issued > self.lifetime_s or s.seen > now + 300:
            return None
        with self._lock:
            if s.nonce in self._revoked:
                return None
        return s

    def touch(self, s: Session, stamp: str, now: int) -> str | None:
        """A new cookie value with "last seen" moved to now, if it is time to; else None."""
        if now - s.seen < REFRESH_AFTER_S:
            return None
        return self._sign(replace(s, seen=now), stamp)

    def revoke(self, s: Session, now: int) -> None:
        with self._lock:
            self._revoked = {n: t for n, t in self._revoked.items() if t >= now}
            self._revoked[s.nonce] = s.issued + self.lifetime_s

    def csrf(self, nonce: str) -> str:
        """The CSRF token bound to a session nonce (or to the pre-login cookie's value)."""
        return _b64(hmac.new(self._secret, b"csrf|" + nonce.encode(), hashlib.sha256).digest())

    def check_csrf(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf(nonce).encode(), token.encode("utf-8", "replace"))

"""Small web security helpers shared by the storefront and the merchant console.

Signed values (HMAC-SHA256, URL-safe), CSRF tokens bound to a session id, random session ids and
the response headers every page carries (a Content-Security-Policy that allows only this origin:
nothing is loaded from a CDN). Pure: no web framework.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SESSION_ID_BYTES = 24

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, purpose.encode() + b"\0" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")


def sign(secret: bytes, value: str, purpose: str = "value") -> str:
    """``<base64 value>.<mac>``: any text, with a MAC for one purpose (flash, session, ...)."""
    raw = base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    return f"{raw}.{_mac(secret, purpose, value)}"


def unsign(secret: bytes, signed: str | None, purpose: str = "value") -> str | None:
    """The value of :func:`sign`, or None when the text was not signed by ``secret`` for ``purpose``."""
    if not signed or signed.count(".") != 1:
        return None
    raw, mac = signed.split(".")
    try:
        value = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, purpose, value)):
        return None
    return value


def csrf_token(secret: bytes, session_id: str) -> str:
    """A token for the forms of one session (synchroniser token, derived rather than stored)."""
    return _mac(secret, "csrf", session_id)


def csrf_ok(secret: bytes, session_id: str | None, token: object) -> bool:
    if not session_id or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret, session_id))

"""Console passwords: scrypt (memory-hard, in the standard library) with a random salt per user.

A stored hash reads ``scrypt$n=16384,r=8,p=1$<salt, base64>$<key, base64>``; the cost parameters
travel with the hash, so they can be raised later and old hashes keep verifying. Checking compares in
constant time. Nothing here touches the network, a database or a web framework.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

N, R, P = 2**14, 8, 1
KEY_LEN = 32
SALT_LEN = 16
MIN_LENGTH = 10
MAX_LENGTH = 1024  # scrypt reads the whole password; refuse absurd inputs before hashing
_FORMAT = re.compile(r"^scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class PasswordError(ValueError):
    """A password that may not be set, or a stored hash that cannot be read."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * 1024 * 1024
    )


def check_new_password(password: str) -> str:
    """Refuse passwords too short to protect a shop (or too long to hash); returns the password."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"a password has at most {MAX_LENGTH} characters")
    if password.strip() != password:
        raise PasswordError("a password may not start or end with spaces")
    return password


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A new hash of ``password`` with a fresh random salt (checks the password first)."""
    check_new_password(password)
    salt = secrets.token_bytes(SALT_LEN)
    key = _scrypt(password, salt, n, r, p, KEY_LEN)
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, key) of a stored hash; :class:`PasswordError` if it is not one."""
    m = _FORMAT.match(stored.strip())
    if m is None:
        raise PasswordError("not a password hash made by `mercato seller set-password`")
    n, r, p = (int(m.group(i)) for i in (1, 2, 3))
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n > 2**20:
        raise PasswordError("password hash with unusable scrypt parameters")
    try:
        salt, key = base64.b64decode(m.group(4), validate=True), base64.b64decode(m.group(5), validate=True)
    except ValueError:
        raise PasswordError("password hash with bad base64") from None
    if len(salt) < 8 or len(key) < 16:
        raise PasswordError("password hash with a salt or key that is too short")
    return n, r, p, salt, key


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored``. A malformed hash raises :class:`PasswordError`."""
    n, r, p, salt, key = parse_hash(stored)
    if len(password) > MAX_LENGTH:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(key)), key)


def dummy_verify(password: str) -> None:
    """Spend the time a real check would for an unknown user (no user-name oracle by timing)."""
    _scrypt(password[:MAX_LENGTH], b"mercato-no-such-user", N, R, P, KEY_LEN)

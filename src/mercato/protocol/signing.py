"""Beckn / ONDC HTTP message signatures (BECKN-006), built and verified over exact body bytes.

Header::

    Signature keyId="{subscriber_id}|{unique_key_id}|ed25519",algorithm="ed25519",
    created="{unix}",expires="{unix}",headers="(created) (expires) digest",signature="{b64}"

Signing string (three lines, no trailing newline)::

    (created): {created}
    (expires): {expires}
    digest: BLAKE-512={base64(BLAKE2b-512(raw body bytes))}

The same format travels in ``Authorization`` (the sender), ``X-Gateway-Authorization`` (a
gateway that forwards a search) and the legacy ``Proxy-Authorization``.

Verification is stricter than ONDC's SDK: beyond the signature it checks that ``created`` is not
in the future (allowing a configurable clock skew) and that ``expires`` has not passed.

Ed25519 cannot tell *why* a signature fails. When the sender also sends a ``Digest:
BLAKE-512=...`` header (our client always does), a changed or re-serialised body is reported as a
:class:`DigestMismatch`; otherwise any change of bytes or key is a :class:`BadSignature`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato.protocol.keys import KeyFormatError, ed25519_verify

ALGORITHM = "ed25519"
HEADERS = "(created) (expires) digest"
DEFAULT_CLOCK_SKEW_S = 5
DEFAULT_VALIDITY_S = 3600


class SignatureError(Exception):
    """Base of every verification failure. ``reason`` is a short machine-readable word."""

    reason = "invalid"


class MalformedHeader(SignatureError):
    reason = "malformed"


class BadSignature(SignatureError):
    reason = "bad_signature"


class DigestMismatch(SignatureError):
    reason = "digest_mismatch"


class Expired(SignatureError):
    reason = "expired"


class NotYetValid(SignatureError):
    reason = "not_yet_valid"


class KeyIdMismatch(SignatureError):
    reason = "key_id_mismatch"


def digest(body: bytes) -> str:
    """Base64 of the BLAKE2b-512 digest of the exact body bytes."""
    return base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode("ascii")


def digest_header(body: bytes) -> str:
    """Value of the optional ``Digest`` HTTP header that lets a verifier name a changed body."""
    return f"BLAKE-512={digest(body)}"


def signing_string(created: int, expires: int, body_digest: str) -> str:
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={body_digest}"


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    subscriber_id: str
    unique_key_id: str
    algorithm: str
    created: int
    expires: int
    signature: str

    @property
    def key_id(self) -> str:
        return f"{self.subscriber_id}|{self.unique_key_id}|{self.algorithm}"

    def render(self) -> str:
        return (
            f'Signature keyId="{self.key_id}",algorithm="{self.algorithm}",'
            f'created="{self.created}",expires="{self.expires}",'
            f'headers="{HEADERS}",signature="{self.signature}"'
        )


_ID_CHARS = re.compile(r"[!#-{}~]+")  # printable ASCII except space, '"' and '|'


def _check_id(value: str, what: str) -> None:
    if not isinstance(value, str) or _ID_CHARS.fullmatch(value) is None:
        raise ValueError(f"{what} must be non-empty printable ASCII without spaces, '|' or '\"': {value!r}")


def sign(
    body: bytes,
    key: Ed25519PrivateKey,
    subscriber_id: str,
    unique_key_id: str,
    *,
    created: int | None = None,
    expires: int | None = None,
    validity_s: int = DEFAULT_VALIDITY_S,
) -> str:
    """Return the ``Signature ...`` header value for exactly these body bytes.

    ``created`` defaults to now, ``expires`` to ``created + validity_s``. The same value is used
    for ``Authorization``, ``X-Gateway-Authorization`` and ``Proxy-Authorization``.
    """
    _check_id(subscriber_id, "subscriber_id")
    _check_id(unique_key_id, "unique_key_id")
    c = int(time.time()) if created is None else int(created)
    e = c + validity_s if expires is None else int(expires)
    if c < 0 or e < c:
        raise ValueError(f"need 0 <= created <= expires, got created={c} expires={e}")
    sig = key.sign(signing_string(c, e, digest(body)).encode("ascii"))
    return SignatureHeader(
        subscriber_id, unique_key_id, ALGORITHM, c, e, base64.b64encode(sig).decode("ascii")
    ).render()


# One ``name="value"`` (or ``name=token``, as draft-cavage writes created/expires) and its comma.
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|\Z)')
_SCHEME = re.compile(r"Signature\s+", re.IGNORECASE)
_UNIX = re.compile(r"0|[1-9][0-9]{0,15}")  # canonical: the signer signed these very digits
_REQUIRED = ("keyId", "created", "expires", "signature")
# The exact form that we, ONDC's SDK and BECKN-006 produce: parsed by one regex (the hot path).
_CANONICAL = re.compile(
    r'Signature keyId="([!#-{}~]+)\|([!#-{}~]+)\|ed25519",algorithm="ed25519",'
    r'created="(0|[1-9][0-9]{0,15})",expires="(0|[1-9][0-9]{0,15})",'
    r'headers="\(created\) \(expires\) digest",signature="([A-Za-z0-9+/]{86}==)"'
)


def parse_header(value: str) -> SignatureHeader:
    """Parse a ``Signature keyId=...`` header. Raises :class:`MalformedHeader` with the reason.

    Tolerates what real peers send: spaces around commas and ``=``, unquoted integers,
    ``headers="(created)(expires)digest"`` without spaces, a trailing comma, unknown parameters.
    Checks that the signature is base64 of 64 bytes, so a verifier never decodes garbage.
    """
    if not isinstance(value, str) or not value.strip():
        raise MalformedHeader("the signature header is empty")
    fast = _CANONICAL.fullmatch(value)
    if fast is not None:
        sub, ukid, c_text, e_text, sig = fast.groups()
        c, e = int(c_text), int(e_text)
        if e >= c:
            return SignatureHeader(sub, ukid, ALGORITHM, c, e, sig)
    text = value.strip()
    scheme = _SCHEME.match(text)
    if scheme is None:
        raise MalformedHeader("the signature header must start with 'Signature '")
    params: dict[str, str] = {}
    pos = scheme.end()
    while pos < len(text):
        m = _PARAM.match(text, pos)
        if m is None:
            raise MalformedHeader(f"cannot parse the signature header at character {pos}")
        name = m.group(1)
        if name in params:
            raise MalformedHeader(f"parameter {name!r} appears twice")
        params[name] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    for required in _REQUIRED:
        if required not in params:
            raise MalformedHeader(f"the signature header lacks {required!r}")
    parts = params["keyId"].split("|")
    if len(parts) != 3 or not all(_ID_CHARS.fullmatch(p) for p in parts):
        raise MalformedHeader(f"keyId must be 'subscriber_id|unique_key_id|ed25519', got {params['keyId']!r}")
    algorithm = params.get("algorithm", parts[2])
    if algorithm.lower() != ALGORITHM or parts[2].lower() != ALGORITHM:
        raise MalformedHeader(
            f"unsupported algorithm {algorithm!r} (keyId says {parts[2]!r}): only ed25519 is accepted"
        )
    headers = params.get("headers", HEADERS)
    if re.sub(r"\s+", "", headers) != HEADERS.replace(" ", ""):
        raise MalformedHeader(f"headers must be {HEADERS!r}, got {headers!r}")
    if not (_UNIX.fullmatch(params["created"]) and _UNIX.fullmatch(params["expires"])):
        raise MalformedHeader(
            f"created and expires must be unix timestamps in plain digits, "
            f"got created={params['created']!r} expires={params['expires']!r}"
        )
    created = int(params["created"])
    expires = int(params["expires"])
    if expires < created:
        raise MalformedHeader(f"expires={expires} is before created={created}")
    signature = params["signature"]
    try:
        raw_sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHeader("signature is not valid base64") from None
    if len(raw_sig) != 64:
        raise MalformedHeader(f"an Ed25519 signature is 64 bytes, got {len(raw_sig)}")
    return SignatureHeader(parts[0], parts[1], ALGORITHM, created, expires, signature)


def _claimed_blake512(digest_header_value: str) -> str | None:
    """The BLAKE-512 value of a ``Digest`` header (which may list several algorithms), if any."""
    for item in digest_header_value.split(","):
        name, sep, val = item.strip().partition("=")
        if sep and name.strip().upper() == "BLAKE-512":
            return val.strip()
    return None


def verify(
    header: str | SignatureHeader,
    body: bytes,
    public_key: str,
    *,
    now: float | None = None,
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
    expected_subscriber_id: str | None = None,
    expected_unique_key_id: str | None = None,
    body_digest_header: str | None = None,
) -> SignatureHeader:
    """Verify a signature header over the exact body bytes with a base64 Ed25519 public key.

    Returns the parsed header. Raises a :class:`SignatureError` subclass naming the failure.
    Order of checks: header syntax, keyId, time window (a stale header never costs a verify),
    the optional ``Digest`` header (``BLAKE-512=...``; other algorithms are ignored), the signature.
    ``created`` may be up to ``clock_skew_s`` in the future; ``expires`` must not be in the past.
    """
    h = header if isinstance(header, SignatureHeader) else parse_header(header)
    if expected_subscriber_id is not None and h.subscriber_id != expected_subscriber_id:
        raise KeyIdMismatch(f"signed by {h.subscriber_id!r}, expected {expected_subscriber_id!r}")
    if expected_unique_key_id is not None and h.unique_key_id != expected_unique_key_id:
        raise KeyIdMismatch(f"signed with key {h.unique_key_id!r}, expected {expected_unique_key_id!r}")
    t = time.time() if now is None else now
    if h.created > t + clock_skew_s:
        raise NotYetValid(f"created={h.created} is in the future (now {int(t)}, skew {clock_skew_s:g}s)")
    if h.expires < t:
        raise Expired(f"expires={h.expires} has passed (now {int(t)})")
    d = digest(body)
    if body_digest_header is not None:
        claimed = _claimed_blake512(body_digest_header)
        if claimed is not None and claimed != d:
            raise DigestMismatch(
                "the body's BLAKE-512 digest differs from the Digest header: the body was changed "
                "or re-serialised after signing"
            )
    try:
        sig = base64.b64decode(h.signature, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedHeader("signature is not valid base64") from None
    if len(sig) != 64:
        raise MalformedHeader(f"an Ed25519 signature is 64 bytes, got {len(sig)}")
    try:
        ok = ed25519_verify(public_key, sig, signing_string(h.created, h.expires, d).encode("ascii"))
    except KeyFormatError as exc:
        raise BadSignature(f"the sender's public key is unusable: {exc}") from None
    if not ok:
        raise BadSignature(
            "signature does not verify for these body bytes and this key "
            "(the body was changed or re-serialised, or another key signed it)"
        )
    return h


def vlookup_signing_string(country: str, domain: str, type_: str, city: str, subscriber_id: str) -> str:
    """ONDC ``/vlookup``: the requester signs ``country|domain|type|city|subscriber_id`` as is."""
    return f"{country}|{domain}|{type_}|{city}|{subscriber_id}"

"""Who signed a document: the check every receiver of a signed document (not a Beckn request) makes.

A signed document (a pool offer, commitment or revocation) arrives as a body with an
``Authorization: Signature keyId="{subscriber_id}|{unique_key_id}|ed25519",...`` header.
:func:`check_signer` parses the header, looks the key up in the registry (through the
:class:`~mercato.transport.lookup.LookupCache`), checks that the signer is registered in the
expected role, and verifies the signature over the exact body bytes (never re-serialised). Each
failure raises :class:`SignerRefused` with the HTTP status to answer and a message for the sender;
the caller turns it into its own error response. What the body means is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from mercato.protocol.signing import SignatureError, SignatureHeader, parse_header, verify
from mercato.transport.lookup import KeyLookupError, LookupCache, RegistryUnavailable, SubscriberKey


class SignerRefused(Exception):
    """The document's signer cannot be trusted: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Signer:
    """A verified signer: the header as sent, parsed, and the registry key it verified with."""

    authorization: str
    header: SignatureHeader
    key: SubscriberKey


async def check_signer(lookup: LookupCache, body: bytes, authorization: str | None, role: str) -> Signer:
    """Check that ``body`` is signed, over its exact bytes, by a registered ``role`` (BAP, BPP, ...).

    Refusals: no header (401), a malformed header (401), the registry cannot be asked (503), an
    unknown, revoked or expired key (401), a signer registered in another role (401), a signature
    that does not verify over these bytes or is outside its time window (401).
    """
    if not authorization:
        raise SignerRefused(401, "the document must be signed (Authorization: Signature keyId=...)")
    try:
        header = parse_header(authorization)
        key = await lookup.get(header.subscriber_id, header.unique_key_id)
    except SignatureError as exc:
        raise SignerRefused(401, f"bad signature header: {exc}") from None
    except RegistryUnavailable as exc:
        raise SignerRefused(503, f"cannot look the signer up: {exc}") from None
    except KeyLookupError as exc:
        raise SignerRefused(401, f"the signer's key is not usable: {exc}") from None
    if key.type is not None and key.type != role:
        raise SignerRefused(401, f"{header.subscriber_id!r} is registered as {key.type}, not {role}")
    try:
        verify(header, body, key.signing_public_key)
    except SignatureError as exc:
        raise SignerRefused(401, f"forged or altered document: {exc}") from None
    return Signer(authorization, header, key)

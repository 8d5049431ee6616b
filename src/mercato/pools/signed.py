"""Signed pool documents: commitments, revocations and offers, and how they are checked.

A document is a JSON object. Its **canonical bytes** are the compact UTF-8 JSON with keys sorted
(``orjson`` with ``OPT_SORT_KEYS``); those exact bytes are signed with the sender's Beckn signing
key, in the Beckn ``Signature keyId="{subscriber_id}|{unique_key_id}|ed25519",...`` format of
:mod:`mercato.protocol.signing` (BLAKE2b-512 digest of the bytes, ed25519). A receiver refuses a
body that is not canonical, so the published document and the signed bytes are one and the same:
anyone can rebuild the bytes from the published JSON and check the signature.

Commitment (sent by a buyer app, signed by its BAP key)::

    {"kind": "commitment", "id": "<uuid>", "pool": "<pool id>", "bap_id": "<buyer app>",
     "quantity": 3, "max_unit_price": 95000, "currency": "INR",
     "offers": ["<bpp_id>/<item_id>", ...], "expires_at": "<RFC 3339>", "created_at": "<RFC 3339>"}

Revocation (same BAP): ``{"kind": "revocation", "commitment": "<id>", "bap_id": ..., "created_at": ...}``.
Offer (signed by the manufacturer's BPP key): ``{"kind": "offer", "offer": {PoolOffer.to_doc()}}``.
Pure: no I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato.pools.model import PoolInputError
from mercato.protocol import signing

KINDS = ("commitment", "revocation", "offer")


def commitment_transaction_id(commitment_id: str) -> str:
    """The Beckn transaction id of the order placed for an accepted commitment (the same on every node,
    so the manufacturer knows the order belongs to the commitment and a repeated settle orders once)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mercato:pool-commitment:{commitment_id}"))


def canonical(doc: dict[str, Any]) -> bytes:
    """The exact bytes that are signed: compact JSON, keys sorted, UTF-8."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, where: str, problems: list[str]) -> datetime | None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected an RFC 3339 time string")
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: {value!r} is not an RFC 3339 time")
        return None
    if t.tzinfo is None:
        problems.append(f"{where}: {value!r} has no time zone offset")
        return None
    return t


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed document as published: the canonical body, the signature header, the key used."""

    body: bytes
    signature: str
    public_key: str = ""  # base64 ed25519 key the receiver verified it with (from the registry)

    @property
    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = orjson.loads(self.body)
        return out

    @property
    def signer(self) -> str:
        return signing.parse_header(self.signature).subscriber_id

    def to_json(self) -> dict[str, Any]:
        return {"document": self.doc, "signature": self.signature, "public_key": self.public_key}

    @classmethod
    def from_json(cls, raw: Any) -> Signed:
        if not isinstance(raw, dict) or not isinstance(raw.get("document"), dict):
            raise PoolInputError(["a signed entry needs a 'document' object"])
        sig, key = raw.get("signature"), raw.get("public_key", "")
        if not isinstance(sig, str) or not isinstance(key, str):
            raise PoolInputError(["a signed entry needs 'signature' and 'public_key' strings"])
        return cls(canonical(raw["document"]), sig, key)


def sign_doc(
    doc: dict[str, Any],
    key: Ed25519PrivateKey,
    subscriber_id: str,
    unique_key_id: str,
    *,
    valid_until: datetime | None = None,
    now: float | None = None,
) -> Signed:
    """Sign ``doc``'s canonical bytes; the signature stays valid until ``valid_until`` (default 1 h)."""
    body = canonical(doc)
    created = int(datetime.now(UTC).timestamp() if now is None else now)
    expires = None if valid_until is None else max(created, int(valid_until.timestamp()) + 1)
    header = signing.sign(body, key, subscriber_id, unique_key_id, created=created, expires=expires)
    return Signed(body, header)


def check_signature(
    signed: Signed, public_key: str, *, now: float | None = None, expected_signer: str | None = None
) -> signing.SignatureHeader:
    """Verify the signature over the exact body with ``public_key``.

    ``now=None`` checks it as it arrives (time window against the clock); a published document is
    re-checked as of its own ``created`` time (pass ``now=header.created``). Raises
    ``signing.SignatureError`` naming the failure (e.g. a forged or altered document).
    """
    header = signing.parse_header(signed.signature)
    return signing.verify(
        header,
        signed.body,
        public_key,
        now=now,
        expected_subscriber_id=expected_signer,
    )


def parse_body(body: bytes) -> dict[str, Any]:
    """A received body: JSON object in canonical form, with a known ``kind``; PoolInputError otherwise."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PoolInputError([f"the body is not JSON: {exc}"]) from None
    if not isinstance(doc, dict):
        raise PoolInputError(["the body must be a JSON object"])
    if canonical(doc) != body:
        raise PoolInputError(
            ["the body is not in canonical form (compact JSON, keys sorted, UTF-8): sign canonical(doc)"]
        )
    if doc.get("kind") not in KINDS:
        raise PoolInputError([f"'kind' must be one of {', '.join(KINDS)}"])
    return doc


@dataclass(frozen=True, slots=True)
class CommitmentDoc:
    id: str
    pool: str
    bap_id: str
    quantity: int
    max_unit_price: int
    currency: str
    offers: tuple[str, ...]
    expires_at: datetime
    created_at: datetime

    def to_doc(self) -> dict[str, Any]:
        return {
            "kind": "commitment",
            "id": self.id,
            "pool": self.pool,
            "bap_id": self.bap_id,
            "quantity": self.quantity,
            "max_unit_price": self.max_unit_price,
            "currency": self.currency,
            "offers": list(self.offers),
            "expires_at": rfc3339(self.expires_at),
            "created_at": rfc3339(self.created_at),
        }

    def to_model(self) -> dict[str, Any]:
        """The commitment in the clearing input format (docs/pools.md, "Input format")."""
        return {
            "id": self.id,
            "bap_id": self.bap_id,
            "quantity": self.quantity,
            "max_unit_price": self.max_unit_price,
            "currency": self.currency,
            "offers": list(self.offers),
            "expires_at": rfc3339(self.expires_at),
        }


def _str(doc: dict[str, Any], key: str, problems: list[str]) -> str:
    v = doc.get(key)
    if not isinstance(v, str) or not v:
        problems.append(f"commitment: {key!r} must be a non-empty string")
        return ""
    return v


def commitment_from_doc(doc: dict[str, Any]) -> CommitmentDoc:
    """Field checks of a commitment document; PoolInputError lists every problem."""
    problems: list[str] = []
    if doc.get("kind") != "commitment":
        problems.append("commitment: 'kind' must be 'commitment'")
    cid = _str(doc, "id", problems)
    pool = _str(doc, "pool", problems)
    bap = _str(doc, "bap_id", problems)
    cur = _str(doc, "currency", problems)
    ints: dict[str, int] = {}
    for key in ("quantity", "max_unit_price"):
        v = doc.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            problems.append(f"commitment: {key!r} must be an integer")
        else:
            ints[key] = v
    if ints.get("quantity", 1) <= 0:
        problems.append(f"commitment: quantity must be positive, got {ints['quantity']}")
    if ints.get("max_unit_price", 0) < 0:
        problems.append(f"commitment: max_unit_price must not be negative, got {ints['max_unit_price']}")
    offers = doc.get("offers")
    if not isinstance(offers, list) or not offers or not all(isinstance(o, str) and o for o in offers):
        problems.append("commitment: 'offers' must be a non-empty list of offer ids")
        offers = []
    elif len(set(offers)) != len(offers):
        problems.append("commitment: lists the same offer twice")
    expires = parse_time(doc.get("expires_at"), "commitment expires_at", problems)
    created = parse_time(doc.get("created_at"), "commitment created_at", problems)
    if expires and created and expires <= created:
        problems.append("commitment: expires_at must be after created_at")
    if problems:
        raise PoolInputError(problems)
    assert expires is not None and created is not None
    return CommitmentDoc(
        cid, pool, bap, ints["quantity"], ints["max_unit_price"], cur, tuple(offers), expires, created
    )

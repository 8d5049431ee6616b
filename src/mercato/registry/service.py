"""The registry's rules, free of I/O: who may register which key, and what lookup publishes.

Rules for ``/subscribe`` (beyond a well-formed body and a valid ``Authorization`` signature made by
the key being registered):

* A signing key belongs to one (subscriber id, unique key id). Claiming a key registered to
  another subscriber, or under another key id of the same subscriber, is a conflict (409).
* A unique key id names one key pair forever: re-subscribing it with other keys is a conflict,
  and a revoked key cannot come back.
* A subscriber that already has a live key (SUBSCRIBED, inside its validity window) can only add
  another key if the request is also signed by one of its live keys, in
  ``X-Current-Key-Authorization`` (key rotation). Re-subscribing a live key (to change domains,
  cities or URLs) needs no second signature: the key signs for itself.
* A subscriber with no live key registers a new key signed by that key alone, but only through
  its registered ``callback_url`` (the challenge proves the same party answers there), unless an
  operator has unsubscribed it, which releases the id.
* ``valid_until`` must lie in the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.onboarding import ROTATION_HEADER, rfc3339
from mercato.protocol.signing import SignatureError, parse_header, verify
from mercato.registry.models import Participation, Status, Subscriber, SubscriberKey
from mercato.registry.schemas import SubscribeClaim
from mercato.registry.store import SubscriberState


def conflict(message: str) -> ProtocolError:
    return ProtocolError(Code.POLICY_ERROR, message, http_status=409)


def unauthorized(message: str) -> ProtocolError:
    return ProtocolError(Code.INVALID_SIGNATURE, message, http_status=401)


def is_live(key: SubscriberKey, now: datetime) -> bool:
    return key.status == Status.SUBSCRIBED.value and key.valid_from <= now < key.valid_until


def verify_subscribe_signature(
    claim: SubscribeClaim, raw: bytes, authorization: str | None, *, now: float, clock_skew_s: float
) -> None:
    """The request must be signed by the very signing key it registers, under its own key id."""
    if not authorization:
        raise unauthorized(
            "the Authorization header is missing: sign the request with the signing key being registered"
        )
    try:
        verify(
            authorization,
            raw,
            claim.signing_public_key,
            now=now,
            clock_skew_s=clock_skew_s,
            expected_subscriber_id=claim.subscriber_id,
            expected_unique_key_id=claim.unique_key_id,
        )
    except SignatureError as exc:
        raise unauthorized(f"Authorization: {exc.reason}: {exc}") from None


def authorize(
    claim: SubscribeClaim,
    state: SubscriberState,
    raw: bytes,
    rotation_header: str | None,
    *,
    now: datetime,
    clock_skew_s: float,
) -> None:
    """Apply the rules above to the registry's current state. Raises :class:`ProtocolError`."""
    if claim.valid_until <= now:
        raise ProtocolError(Code.BAD_REQUEST, "valid_until has already passed: this key would never be valid")
    for owner_sid, owner_ukid in state.key_owners:
        if owner_sid != claim.subscriber_id:
            raise conflict("this signing public key is already registered to another subscriber")
        if owner_ukid != claim.unique_key_id:
            raise conflict(
                f"this signing public key is already registered under unique_key_id {owner_ukid!r}"
            )
    existing = next((k for k in state.keys if k.unique_key_id == claim.unique_key_id), None)
    if existing is not None:
        if existing.status == Status.REVOKED.value:
            raise conflict(
                f"key {claim.unique_key_id!r} was revoked; register a new key with a new unique_key_id"
            )
        if (existing.signing_public_key, existing.encr_public_key) != (
            claim.signing_public_key,
            claim.encr_public_key,
        ):
            raise conflict(
                f"unique_key_id {claim.unique_key_id!r} is already registered with other keys; "
                "new keys need a new unique_key_id"
            )
        if is_live(existing, now):
            return
    live = [k for k in state.keys if k.unique_key_id != claim.unique_key_id and is_live(k, now)]
    if not live:
        _require_same_callback(claim, state)
        return
    names = ", ".join(sorted(k.unique_key_id for k in live))
    if not rotation_header:
        raise unauthorized(
            f"subscriber {claim.subscriber_id!r} already has valid keys ({names}): to add a key, sign the "
            f"request also with one of them in the {ROTATION_HEADER} header"
        )
    _verify_rotation(claim, raw, rotation_header, live, now=now, clock_skew_s=clock_skew_s)


def _require_same_callback(claim: SubscribeClaim, state: SubscriberState) -> None:
    """A known subscriber id with no live key is re-keyed only where the registered challenge goes:
    the ``/on_subscribe`` answer at the same ``callback_url`` proves the same party is asking. Once an
    operator has unsubscribed the id, it may be claimed anew at any URL."""
    sub = state.subscriber
    if sub is None or sub.status != Status.SUBSCRIBED.value or sub.callback_url == claim.callback_url:
        return
    raise conflict(
        f"subscriber {claim.subscriber_id!r} has no valid key: a new key can be registered only through "
        f"its registered callback_url {sub.callback_url!r}; to move it elsewhere, ask the registry "
        "operator to unsubscribe it first"
    )


def _verify_rotation(
    claim: SubscribeClaim,
    raw: bytes,
    header: str,
    live: Sequence[SubscriberKey],
    *,
    now: datetime,
    clock_skew_s: float,
) -> None:
    try:
        parsed = parse_header(header)
    except SignatureError as exc:
        raise unauthorized(f"{ROTATION_HEADER}: {exc.reason}: {exc}") from None
    key = next((k for k in live if k.unique_key_id == parsed.unique_key_id), None)
    if parsed.subscriber_id != claim.subscriber_id or key is None:
        raise unauthorized(
            f"{ROTATION_HEADER} must be signed by a currently valid key of {claim.subscriber_id!r}"
        )
    try:
        verify(parsed, raw, key.signing_public_key, now=now.timestamp(), clock_skew_s=clock_skew_s)
    except SignatureError as exc:
        raise unauthorized(f"{ROTATION_HEADER}: {exc.reason}: {exc}") from None


def key_status(key: SubscriberKey, now: datetime) -> str:
    if key.status == Status.SUBSCRIBED.value and key.valid_until <= now:
        return Status.EXPIRED.value
    return key.status


def lookup_record(sub: Subscriber, key: SubscriberKey, part: Participation, now: datetime) -> dict[str, Any]:
    """One lookup entry, in ONDC's lookup format."""
    return {
        "subscriber_id": sub.subscriber_id,
        "subscriber_url": part.subscriber_url,
        "type": part.type,
        "domain": part.domain,
        "city": part.city,
        "country": sub.country,
        "signing_public_key": key.signing_public_key,
        "encr_public_key": key.encr_public_key,
        "valid_from": rfc3339(key.valid_from),
        "valid_until": rfc3339(key.valid_until),
        "status": key_status(key, now),
        "ukId": key.unique_key_id,
        "created": rfc3339(key.created),
        "updated": rfc3339(max(key.updated, sub.updated)),
    }

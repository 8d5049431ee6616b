"""Callback envelopes: the context of an ``on_*`` answer, error bodies, and outbox callbacks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.messages import format_timestamp
from mercato.protocol.models import Context
from mercato.seller.domain import DomainError
from mercato.seller.store import Callback


@dataclass(frozen=True)
class Identity:
    """Who this node is on the network (the ``bpp_*`` fields of every callback it sends)."""

    subscriber_id: str
    subscriber_url: str
    domain: str = "ONDC:RET10"
    country: str = "IND"
    city: str = "std:080"


def reply_context(ctx: Context, action: str, me: Identity) -> dict[str, Any]:
    """The callback's context: the request's, with this node's bpp fields, the action and a fresh time."""
    out: dict[str, Any] = ctx.model_dump(by_alias=True, exclude_none=True)
    out["action"] = action
    out["bpp_id"] = me.subscriber_id
    out["bpp_uri"] = me.subscriber_url
    out["timestamp"] = format_timestamp()
    return out


def error_json(err: DomainError | ProtocolError) -> dict[str, str]:
    e = err.to_protocol_error() if isinstance(err, DomainError) else err
    return e.to_error()


def callback(
    ctx: Context,
    action: str,
    me: Identity,
    message: dict[str, Any] | None,
    error: dict[str, str] | None = None,
) -> Callback:
    """An answer to a received request, ready for the outbox (same transaction and message id)."""
    body: dict[str, Any] = {"context": reply_context(ctx, action, me)}
    if message is not None:
        body["message"] = message
    if error is not None:
        body["error"] = error
    if ctx.bap_uri is None:
        raise ProtocolError(Code.INVALID_REQUEST, "context.bap_uri is required", path="context.bap_uri")
    return Callback(
        str(ctx.bap_uri), action, orjson.dumps(body), str(ctx.transaction_id), str(ctx.message_id)
    )


def unsolicited(
    me: Identity, action: str, bap_id: str, bap_uri: str, transaction_id: str, message: dict[str, Any]
) -> Callback:
    """A callback the seller sends on its own (the merchant moved the order): a fresh message id."""
    message_id = str(uuid.uuid4())
    ctx = {
        "domain": me.domain,
        "location": {"country": {"code": me.country}, "city": {"code": me.city}},
        "action": action,
        "version": "1.1.0",
        "bap_id": bap_id,
        "bap_uri": bap_uri,
        "bpp_id": me.subscriber_id,
        "bpp_uri": me.subscriber_url,
        "transaction_id": transaction_id,
        "message_id": message_id,
        "timestamp": format_timestamp(),
        "ttl": "PT30S",
    }
    body = orjson.dumps({"context": ctx, "message": message})
    return Callback(bap_uri, action, body, transaction_id, message_id)


def rewrap(stored: bytes, ctx: Context, me: Identity) -> Callback:
    """A stored answer (an earlier on_confirm) re-sent for a repeated request: same message, new context."""
    old = orjson.loads(stored)
    return callback(ctx, str(old["context"]["action"]), me, old.get("message"), old.get("error"))

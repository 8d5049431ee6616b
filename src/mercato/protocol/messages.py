"""Parse incoming Beckn bodies into typed envelopes, build contexts, and serialise ACK/NACK and messages.

This is what the transport calls for every request, so it is cheap: one ``orjson.loads``, a few checks
on the context (to give a precise Beckn error), then one pydantic validation of the envelope model for
the action. Pure: no I/O.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from pydantic import BaseModel, ValidationError

from .actions import ALL_ACTIONS, callback_for, is_callback
from .errors import Code, ErrorType, ProtocolError
from .models import (
    BECKN_VERSION,
    CancelRequest,
    ConfirmRequest,
    Context,
    InitRequest,
    OnCancelRequest,
    OnConfirmRequest,
    OnInitRequest,
    OnRatingRequest,
    OnSearchRequest,
    OnSelectRequest,
    OnStatusRequest,
    OnSupportRequest,
    OnTrackRequest,
    OnUpdateRequest,
    RatingRequest,
    Request,
    SearchRequest,
    SelectRequest,
    StatusRequest,
    SupportRequest,
    TrackRequest,
    UpdateRequest,
)
from .models.base import duration_seconds

__all__ = [
    "REQUEST_MODELS",
    "Request",
    "ack_body",
    "dump",
    "format_timestamp",
    "make_context",
    "nack_body",
    "parse_request",
    "parse_ttl",
]

REQUEST_MODELS: Final[dict[str, type[Request]]] = {
    model.ACTION: model
    for model in (
        SearchRequest,
        SelectRequest,
        InitRequest,
        ConfirmRequest,
        StatusRequest,
        TrackRequest,
        CancelRequest,
        UpdateRequest,
        RatingRequest,
        SupportRequest,
        OnSearchRequest,
        OnSelectRequest,
        OnInitRequest,
        OnConfirmRequest,
        OnStatusRequest,
        OnTrackRequest,
        OnCancelRequest,
        OnUpdateRequest,
        OnRatingRequest,
        OnSupportRequest,
    )
}
"""Action name -> envelope model (``"search"`` -> :class:`SearchRequest`, ...), for all 20 actions."""

assert tuple(REQUEST_MODELS) == ALL_ACTIONS  # noqa: S101  (a programming error, caught at import)

_ACK_BODY: Final = orjson.dumps({"message": {"ack": {"status": "ACK"}}})
_SHOWN: Final = 64  # characters of a bad value quoted back in an error message


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _context_error(message: str, path: str, code: Code = Code.INVALID_REQUEST) -> ProtocolError:
    return ProtocolError(code, message, type=ErrorType.CONTEXT, path=path)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _from_validation_error(exc: ValidationError) -> ProtocolError:
    err = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    loc = err["loc"]
    path = _path(loc)
    msg = str(err["msg"]).removeprefix("Value error, ")
    kind = ErrorType.CONTEXT if loc[:1] == ("context",) else ErrorType.JSON_SCHEMA
    text = f"{path}: {msg}" if path else msg
    return ProtocolError(Code.INVALID_REQUEST, text, type=kind, path=path or None)


def parse_request(body: bytes, *, expected_action: str | None = None) -> Request:
    """Parse a Beckn request or callback body into the envelope model of its action.

    ``expected_action`` is the action named by the URL path (``/search`` -> ``"search"``); the body's
    ``context.action`` must match it. Raises :class:`ProtocolError` (never anything else) when the body is
    not JSON, has no or a bad ``context``, names an unknown or unexpected action, has another ``version``
    than 1.1.0, has no ``message``, or does not fit the model; ``path`` names the offending field.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(
            Code.INVALID_REQUEST, f"body is not valid JSON: {exc}", type=ErrorType.JSON_SCHEMA
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError(
            Code.INVALID_REQUEST,
            f"body must be a JSON object, got {type(data).__name__}",
            type=ErrorType.JSON_SCHEMA,
        )
    context = data.get("context")
    if context is None:
        raise _context_error("context is missing", "context")
    if not isinstance(context, dict):
        raise _context_error("context must be an object", "context")
    action = context.get("action")
    if not isinstance(action, str):
        raise _context_error("context.action is missing or not a string", "context.action")
    model = REQUEST_MODELS.get(action)
    if model is None:
        raise _context_error(f"unknown action {_show(action)}", "context.action", Code.ACTION_NOT_APPLICABLE)
    if expected_action is not None and action != expected_action:
        raise _context_error(
            f"context.action is {_show(action)} but this endpoint is {expected_action!r}",
            "context.action",
            Code.ACTION_NOT_APPLICABLE,
        )
    version = context.get("version")
    if version != BECKN_VERSION:
        got = "missing" if version is None else _show(version)
        raise _context_error(f"context.version must be {BECKN_VERSION!r}, got {got}", "context.version")
    callback = is_callback(action)
    if "message" not in data and not (callback and "error" in data):
        raise ProtocolError(
            Code.INVALID_REQUEST, "message is missing", type=ErrorType.JSON_SCHEMA, path="message"
        )
    if callback and (context.get("bpp_id") is None or context.get("bpp_uri") is None):
        raise _context_error(
            "a callback's context must name the seller: bpp_id and bpp_uri are required",
            "context.bpp_id" if context.get("bpp_id") is None else "context.bpp_uri",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc) from None


def parse_ttl(ttl: str) -> float:
    """Seconds in an ISO 8601 duration (``PT30S`` -> 30.0, ``P1D`` -> 86400.0, ``PT1H30M`` -> 5400.0).

    Years count 365 days, months 30 days. Raises :class:`ProtocolError` for anything else.
    """
    try:
        return duration_seconds(ttl)
    except (ValueError, TypeError) as exc:
        raise _context_error(str(exc), "context.ttl") from None


def ack_body() -> bytes:
    """``{"message":{"ack":{"status":"ACK"}}}``."""
    return _ACK_BODY


def nack_body(err: ProtocolError) -> bytes:
    """``{"message":{"ack":{"status":"NACK"}},"error":{"code":..,"message":..[,"paths":..]}}``."""
    return orjson.dumps({"message": {"ack": {"status": "NACK"}}, "error": err.to_error()})


def dump(model: BaseModel) -> bytes:
    """JSON bytes of a model as Beckn expects them: field aliases, no ``null`` for absent fields,
    unknown fields of received messages kept."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)


def format_timestamp(when: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, as Beckn peers write it: ``2023-11-06T09:41:09.673Z``."""
    w = datetime.now(UTC) if when is None else when.astimezone(UTC)
    return (  # by hand: a fifth less than strftime, and every message carries one or two
        f"{w.year:04d}-{w.month:02d}-{w.day:02d}T{w.hour:02d}:{w.minute:02d}:{w.second:02d}"
        f".{w.microsecond // 1000:03d}Z"
    )


def restamp(body: bytes, now: datetime, *, older_than_s: float) -> bytes:
    """The message with ``context.timestamp`` set to ``now``, when it is older than ``older_than_s``.

    A durable outbox may send a message long after it was committed (retries, a crash and restart);
    by then ``timestamp + ttl`` has passed and the receiver rightly refuses it as stale. The
    message is the same (same ``message_id``: the receiver dedupes by it); only the time it is sent
    changes, and the new bytes are signed as they are sent. Bodies that are not Beckn messages, or
    are fresh enough, come back unchanged (the same object).
    """
    try:
        doc = orjson.loads(body)
        ctx = doc.get("context") if isinstance(doc, dict) else None
        stamp = ctx.get("timestamp") if isinstance(ctx, dict) else None
        sent = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except (orjson.JSONDecodeError, ValueError):
        return body
    if ctx is None or sent is None or sent.tzinfo is None:
        return body
    if (now - sent).total_seconds() <= older_than_s:
        return body
    ctx["timestamp"] = format_timestamp(now)
    return orjson.dumps(doc)


def make_context(
    action: str | None = None,
    *,
    reply_to: Context | None = None,
    domain: str | None = None,
    country: str | None = None,
    city: str | None = None,
    bap_id: str | None = None,
    bap_uri: str | None = None,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    transaction_id: str | None = None,
    message_id: str | None = None,
    ttl: str | None = None,
    key: str | None = None,
    now: datetime | None = None,
) -> Context:
    """A context for a new request, or (``reply_to=``) for the callback answering a received one.

    New request: ``action``, ``domain``, ``country``, ``city``, ``bap_id`` and ``bap_uri`` are required;
    ``transaction_id`` and ``message_id`` default to fresh UUIDs.

    Callback: everything is copied from ``reply_to`` (same transaction_id and message_id, same parties),
    ``action`` defaults to the matching ``on_*``, the timestamp is fresh; any keyword given overrides the
    copy (a seller answering a search that came through a gateway fills in its own ``bpp_id``/``bpp_uri``).
    Raises ValueError for a missing or invalid field.
    """
    fields: dict[str, Any]
    if reply_to is not None:
        fields = reply_to.model_dump(by_alias=True, exclude_none=True)
        fields["action"] = action if action is not None else callback_for(reply_to.action)
    else:
        missing = [
            name
            for name, value in (
                ("action", action),
                ("domain", domain),
                ("country", country),
                ("city", city),
                ("bap_id", bap_id),
                ("bap_uri", bap_uri),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"make_context needs {', '.join(missing)} for a new request")
        fields = {
            "action": action,
            "version": BECKN_VERSION,
            "transaction_id": str(uuid.uuid4()),
            "message_id": str(uuid.uuid4()),
        }
    overrides: dict[str, str | None] = {
        "domain": domain,
        "bap_id": bap_id,
        "bap_uri": bap_uri,
        "bpp_id": bpp_id,
        "bpp_uri": bpp_uri,
        "transaction_id": transaction_id,
        "message_id": message_id,
        "ttl": ttl,
        "key": key,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    if country is not None or city is not None:
        location = dict(fields.get("location", {}))
        if country is not None:
            location["country"] = {"code": country}
        if city is not None:
            location["city"] = {"code": city}
        fields["location"] = location
    fields["timestamp"] = format_timestamp(now)
    try:
        return Context.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(_from_validation_error(exc).message) from None

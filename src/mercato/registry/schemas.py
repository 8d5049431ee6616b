"""Parsing and validating what the registry receives: /subscribe, /lookup and /vlookup bodies.

Every failure is a :class:`~mercato.protocol.errors.ProtocolError` naming the JSON path at fault,
answered as HTTP 400 with a Beckn error body.

``/subscribe`` accepts two shapes (see docs/registry.md):

* ONDC: ``{"context": {"operation": {"ops_no": N}}, "message": {"request_id", "timestamp",
  "entity": {"subscriber_id", "unique_key_id", "country", "callback_url", "key_pair":
  {"signing_public_key", "encryption_public_key", "valid_from", "valid_until"}}, "network_participant":
  [{"subscriber_url", "domain", "type", "city_code": [..]}]}}``
* Beckn registry API 1.1: ``{"subscriber_id", "url", "type", "domain", "location": {"city":
  {"code"}, "country": {"code"}}, "key_id", "signing_public_key", "encr_public_key", "valid_from",
  "valid_until", "nonce"}``
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.keys import (
    KeyFormatError,
    b64,
    encryption_public_der_b64,
    load_encryption_public_key,
    load_signing_public_key,
    raw_public,
)

TYPES = {"BAP": "BAP", "BPP": "BPP", "BG": "BG", "buyerApp": "BAP", "sellerApp": "BPP", "gateway": "BG"}
MAX_PARTICIPATIONS = 50
MAX_CITIES = 1000


def bad(message: str, path: str | None = None) -> ProtocolError:
    return ProtocolError(Code.BAD_REQUEST, message, path=path)


@dataclass(frozen=True)
class ParticipationClaim:
    type: str
    domain: str
    city: str
    subscriber_url: str


@dataclass(frozen=True)
class SubscribeClaim:
    subscriber_id: str
    unique_key_id: str
    signing_public_key: str  # canonical: base64 of the raw 32 bytes
    encr_public_key: str  # canonical: base64 DER SubjectPublicKeyInfo
    valid_from: datetime
    valid_until: datetime
    country: str
    callback_url: str  # absolute; /on_subscribe is appended
    participations: tuple[ParticipationClaim, ...]
    request_id: str | None


@dataclass(frozen=True)
class LookupQuery:
    subscriber_id: str | None = None
    type: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    unique_key_id: str | None = None
    include_inactive: bool = False


@dataclass(frozen=True)
class VLookupRequest:
    sender_subscriber_id: str
    request_id: str
    timestamp: datetime
    signature: str
    country: str
    domain: str
    type_raw: str  # as sent (buyerApp, sellerApp, gateway): part of the signed string
    city: str
    subscriber_id: str

    @property
    def type(self) -> str:
        return TYPES[self.type_raw]


# --- small typed accessors ---------------------------------------------------------------------


def load_json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object")
    return data


def obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise bad(f"{path}.{key} must be an object", f"{path}.{key}")
    return value


def text(
    parent: dict[str, Any], key: str, path: str, *, max_len: int = 255, required: bool = True
) -> str | None:
    value = parent.get(key)
    where = f"{path}.{key}" if path else key
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{where} must be a non-empty string", where)
    if len(value) > max_len:
        raise bad(f"{where} is longer than {max_len} characters", where)
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise bad(f"{where} contains control characters", where)
    return value


def req_text(parent: dict[str, Any], key: str, path: str, *, max_len: int = 255) -> str:
    value = text(parent, key, path, max_len=max_len)
    assert value is not None
    return value


def identifier(parent: dict[str, Any], key: str, path: str) -> str:
    """subscriber ids and key ids travel in ``keyId="sub|key|alg"``: no spaces, ``|``, ``"``, ``,``."""
    value = req_text(parent, key, path)
    where = f"{path}.{key}" if path else key
    if any(c.isspace() or c in '|",\\' or ord(c) > 0x7E for c in value):
        raise bad(f"{where} may not contain spaces, '|', '\"', ',', '\\' or non-ASCII characters", where)
    return value


def timestamp(parent: dict[str, Any], key: str, path: str) -> datetime:
    value = req_text(parent, key, path, max_len=64)
    where = f"{path}.{key}" if path else key
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise bad(f"{where} is not an RFC 3339 date-time: {value!r}", where) from None
    if t.tzinfo is None:
        raise bad(f"{where} must carry a time zone (e.g. 'Z'): {value!r}", where)
    return t


def role(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in TYPES:
        raise bad(f"{where} must be one of {', '.join(TYPES)}", where)
    return TYPES[value]


def url(value: str, subscriber_id: str, where: str) -> str:
    """An absolute http(s) URL, or a path relative to ``https://{subscriber_id}`` (as ONDC does)."""
    if value.startswith("/"):
        value = f"https://{subscriber_id}{value}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"{where} must be an http(s) URL or a path starting with '/': {value!r}", where)
    return value


def signing_key(value: str, where: str) -> str:
    try:
        return b64(raw_public(load_signing_public_key(value)))
    except (KeyFormatError, ValueError) as exc:
        raise bad(f"{where}: {exc}", where) from None


def encryption_key(value: str, where: str) -> str:
    try:
        return encryption_public_der_b64(load_encryption_public_key(value))
    except (KeyFormatError, ValueError) as exc:
        raise bad(f"{where}: {exc}", where) from None


# --- /subscribe --------------------------------------------------------------------------------


def parse_subscribe(raw: bytes) -> SubscribeClaim:
    data = load_json_object(raw)
    if "message" in data:
        return _parse_ondc(data)
    if "subscriber_id" in data:
        return _parse_beckn(data)
    raise bad(
        "expected an ONDC subscribe body (context, message) or a Beckn Subscription (subscriber_id, ...)"
    )


def _cities(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad(f"{where} must be a non-empty list of city codes", where)
    if len(value) > MAX_CITIES:
        raise bad(f"{where} lists more than {MAX_CITIES} cities", where)
    holder = {str(i): v for i, v in enumerate(value)}
    return sorted({req_text(holder, str(i), where, max_len=64) for i in range(len(value))})


def _parse_ondc(data: dict[str, Any]) -> SubscribeClaim:
    if "context" in data:
        context = obj(data, "context", "")
        operation = context.get("operation")
        if operation is not None and not isinstance(operation, dict):
            raise bad("context.operation must be an object", "context.operation")
    message = obj(data, "message", "")
    entity = obj(message, "entity", "message")
    sid = identifier(entity, "subscriber_id", "message.entity")
    ukid = identifier(entity, "unique_key_id", "message.entity")
    kp = obj(entity, "key_pair", "message.entity")
    kpp = "message.entity.key_pair"
    spk = signing_key(req_text(kp, "signing_public_key", kpp), f"{kpp}.signing_public_key")
    epk = encryption_key(
        req_text(kp, "encryption_public_key", kpp, max_len=512), f"{kpp}.encryption_public_key"
    )
    vf = timestamp(kp, "valid_from", kpp)
    vu = timestamp(kp, "valid_until", kpp)
    country = text(entity, "country", "message.entity", max_len=8, required=False) or "IND"
    request_id = text(message, "request_id", "message", required=False)
    if "timestamp" in message:
        timestamp(message, "timestamp", "message")
    nps = message.get("network_participant")
    if not isinstance(nps, list) or not nps:
        raise bad("message.network_participant must be a non-empty list", "message.network_participant")
    if len(nps) > MAX_PARTICIPATIONS:
        raise bad(f"at most {MAX_PARTICIPATIONS} network participants", "message.network_participant")
    parts: dict[tuple[str, str, str], ParticipationClaim] = {}
    first_url: str | None = None
    for i, np_ in enumerate(nps):
        where = f"message.network_participant[{i}]"
        if not isinstance(np_, dict):
            raise bad(f"{where} must be an object", where)
        typ = role(np_.get("type"), f"{where}.type")
        domain = req_text(np_, "domain", where, max_len=128)
        surl = url(req_text(np_, "subscriber_url", where, max_len=2048), sid, f"{where}.subscriber_url")
        first_url = first_url or surl
        for city in _cities(np_.get("city_code"), f"{where}.city_code"):
            parts[(typ, domain, city)] = ParticipationClaim(typ, domain, city, surl)
    cb_raw = text(entity, "callback_url", "message.entity", max_len=2048, required=False)
    assert first_url is not None
    callback = url(cb_raw, sid, "message.entity.callback_url") if cb_raw else first_url
    return _checked(
        SubscribeClaim(sid, ukid, spk, epk, vf, vu, country, callback, tuple(parts.values()), request_id),
        kpp,
    )


def _parse_beckn(data: dict[str, Any]) -> SubscribeClaim:
    sid = identifier(data, "subscriber_id", "")
    ukid = identifier(data, "key_id", "")
    spk = signing_key(req_text(data, "signing_public_key", ""), "signing_public_key")
    epk = encryption_key(req_text(data, "encr_public_key", "", max_len=512), "encr_public_key")
    vf = timestamp(data, "valid_from", "")
    vu = timestamp(data, "valid_until", "")
    typ = role(data.get("type"), "type")
    domain = req_text(data, "domain", "", max_len=128)
    surl = url(req_text(data, "url", "", max_len=2048), sid, "url")
    location = obj(data, "location", "")
    city = req_text(obj(location, "city", "location"), "code", "location.city", max_len=64)
    country = "IND"
    if "country" in location:
        country = req_text(obj(location, "country", "location"), "code", "location.country", max_len=8)
    nonce = text(data, "nonce", "", required=False)
    part = ParticipationClaim(typ, domain, city, surl)
    return _checked(SubscribeClaim(sid, ukid, spk, epk, vf, vu, country, surl, (part,), nonce), "")


def _checked(claim: SubscribeClaim, kpp: str) -> SubscribeClaim:
    where = f"{kpp}.valid_until" if kpp else "valid_until"
    if claim.valid_until <= claim.valid_from:
        raise bad("valid_until must be after valid_from", where)
    return claim


# --- /lookup and /vlookup ----------------------------------------------------------------------


def parse_lookup(raw: bytes) -> LookupQuery:
    data = load_json_object(raw)
    # the Beckn Subscription shape carries city and country inside location
    city = text(data, "city", "", max_len=64, required=False)
    country = text(data, "country", "", max_len=8, required=False)
    location = data.get("location")
    if location is not None:
        if not isinstance(location, dict):
            raise bad("location must be an object", "location")
        if city is None and "city" in location:
            city = req_text(obj(location, "city", "location"), "code", "location.city", max_len=64)
        if country is None and "country" in location:
            country = req_text(obj(location, "country", "location"), "code", "location.country", max_len=8)
    ukid = text(data, "ukId", "", required=False)
    if ukid is None:
        ukid = text(data, "unique_key_id", "", required=False) or text(data, "key_id", "", required=False)
    typ = data.get("type")
    include_inactive = data.get("include_inactive", False)
    if not isinstance(include_inactive, bool):
        raise bad("include_inactive must be true or false", "include_inactive")
    query = LookupQuery(
        subscriber_id=text(data, "subscriber_id", "", required=False),
        type=None if typ is None else role(typ, "type"),
        domain=text(data, "domain", "", max_len=128, required=False),
        city=city,
        country=country,
        unique_key_id=ukid,
        include_inactive=include_inactive,
    )
    if not any(
        (query.subscriber_id, query.type, query.domain, query.city, query.country, query.unique_key_id)
    ):
        raise bad("give at least one of subscriber_id, type, domain, city, country, ukId")
    return query


def parse_vlookup(raw: bytes) -> VLookupRequest:
    data = load_json_object(raw)
    sp = obj(data, "search_parameters", "")
    p = "search_parameters"
    typ = req_text(sp, "type", p, max_len=16)
    role(typ, f"{p}.type")
    return VLookupRequest(
        sender_subscriber_id=req_text(data, "sender_subscriber_id", ""),
        request_id=req_text(data, "request_id", ""),
        timestamp=timestamp(data, "timestamp", ""),
        signature=req_text(data, "signature", "", max_len=200),
        country=req_text(sp, "country", p, max_len=8),
        domain=req_text(sp, "domain", p, max_len=128),
        type_raw=typ,
        city=req_text(sp, "city", p, max_len=64),
        subscriber_id=req_text(sp, "subscriber_id", p),
    )

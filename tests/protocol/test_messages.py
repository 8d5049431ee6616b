"""parse_request and friends: every bad input is a ProtocolError with the right Beckn code, type and path."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.protocol.actions import ALL_ACTIONS, CALLBACK_ACTIONS, SELLER_ACTIONS
from mercato.protocol.errors import Code, ErrorType, ProtocolError
from mercato.protocol.messages import (
    REQUEST_MODELS,
    ack_body,
    dump,
    format_timestamp,
    make_context,
    nack_body,
    parse_request,
    parse_ttl,
)
from mercato.protocol.models import OnSearchRequest, SearchRequest, StatusRequest
from tests.protocol.test_schemas import context, rich_bodies

BODIES = rich_bodies()


def body_of(action: str) -> dict[str, Any]:
    return copy.deepcopy(BODIES[action])


def fails(body: bytes | dict[str, Any], expected_action: str | None = None) -> ProtocolError:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    with pytest.raises(ProtocolError) as info:
        parse_request(raw, expected_action=expected_action)
    return info.value


# ---------------------------------------------------------------- happy path


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_each_action_parses_into_its_envelope(action: str) -> None:
    parsed = parse_request(orjson.dumps(BODIES[action]), expected_action=action)
    assert type(parsed) is REQUEST_MODELS[action]
    assert parsed.context.action == action
    assert parsed.context.version == "1.1.0"


def test_typed_access_to_messages() -> None:
    search = parse_request(orjson.dumps(BODIES["search"]))
    assert isinstance(search, SearchRequest)
    assert search.message.intent is not None and search.message.intent.descriptor is not None
    assert search.message.intent.descriptor.name == "flask"
    status = parse_request(orjson.dumps(BODIES["status"]))
    assert isinstance(status, StatusRequest)
    assert status.message.order_id == "9d6c1a34-0b6f-4f0e-8f0b-3a2a1c5e7d90"
    on_search = parse_request(orjson.dumps(BODIES["on_search"]))
    assert isinstance(on_search, OnSearchRequest) and on_search.message is not None
    assert on_search.message.catalog.providers is not None
    provider = on_search.message.catalog.providers[0]
    assert provider.items is not None and provider.items[0].price is not None
    assert provider.items[0].price.value == "1200.50"  # a decimal string, as sent
    assert provider.tags is not None
    tag_group = provider.tags[0]
    assert tag_group.list_ is not None and tag_group.list_[0].value == "pool-42"


def test_context_helpers() -> None:
    ctx = parse_request(orjson.dumps(BODIES["select"])).context
    assert ctx.sent_at == datetime(2026, 11, 24, 10, 15, 30, 125000, tzinfo=UTC)
    assert ctx.ttl_seconds == 30.0
    assert ctx.location.city.code == "std:080" and ctx.location.country.code == "IND"


def test_a_callback_may_carry_only_an_error() -> None:
    body = {"context": context("on_select"), "error": {"code": "40002", "message": "out of stock"}}
    parsed = parse_request(orjson.dumps(body))
    assert parsed.context.action == "on_select"
    assert orjson.loads(dump(parsed)) == body


# ---------------------------------------------------------------- bad input, one by one


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b'{"context": }', b"{'a': 1}", b"NaN"])
def test_malformed_json(raw: bytes) -> None:
    err = fails(raw)
    assert (err.code, err.type) == (Code.INVALID_REQUEST, ErrorType.JSON_SCHEMA)
    assert "not valid JSON" in err.message


@pytest.mark.parametrize("raw", [b"[]", b"null", b"42", b'"search"', b"true"])
def test_body_not_an_object(raw: bytes) -> None:
    err = fails(raw)
    assert (err.code, err.type) == (Code.INVALID_REQUEST, ErrorType.JSON_SCHEMA)
    assert "JSON object" in err.message


@pytest.mark.parametrize("ctx", [None, "search", [], 7])
def test_missing_or_non_object_context(ctx: Any) -> None:
    body: dict[str, Any] = {"message": {}}
    if ctx is not None:
        body["context"] = ctx
    err = fails(body)
    assert (err.code, err.type, err.path) == (Code.INVALID_REQUEST, ErrorType.CONTEXT, "context")


@pytest.mark.parametrize("action", [None, 5, ["search"]])
def test_missing_or_non_string_action(action: Any) -> None:
    body = body_of("search")
    if action is None:
        del body["context"]["action"]
    else:
        body["context"]["action"] = action
    err = fails(body)
    assert (err.code, err.type, err.path) == (Code.INVALID_REQUEST, ErrorType.CONTEXT, "context.action")


@pytest.mark.parametrize("action", ["dance", "on_dance", "SEARCH", "", "on_on_search", "subscribe"])
def test_unknown_action(action: str) -> None:
    body = body_of("search")
    body["context"]["action"] = action
    err = fails(body)
    assert (err.code, err.type, err.path) == (Code.ACTION_NOT_APPLICABLE, ErrorType.CONTEXT, "context.action")
    assert "unknown action" in err.message


@pytest.mark.parametrize(
    ("action", "endpoint"), [("search", "select"), ("on_search", "search"), ("init", "on_init")]
)
def test_action_not_matching_the_endpoint(action: str, endpoint: str) -> None:
    err = fails(BODIES[action], expected_action=endpoint)
    assert (err.code, err.type, err.path) == (Code.ACTION_NOT_APPLICABLE, ErrorType.CONTEXT, "context.action")
    assert endpoint in err.message and action in err.message


@pytest.mark.parametrize("version", [None, "1.0.0", "1.1.1", "1.1", 1.1, "1.1.0 ", "v1.1.0"])
def test_wrong_version(version: Any) -> None:
    body = body_of("confirm")
    if version is None:
        del body["context"]["version"]
    else:
        body["context"]["version"] = version
    err = fails(body)
    assert (err.code, err.type, err.path) == (Code.INVALID_REQUEST, ErrorType.CONTEXT, "context.version")
    assert "'1.1.0'" in err.message


@pytest.mark.parametrize("action", SELLER_ACTIONS)
def test_missing_message(action: str) -> None:
    body = body_of(action)
    del body["message"]
    body["error"] = {"code": "30000"}  # an error does not stand in for the message of a request
    err = fails(body)
    assert (err.code, err.path) == (Code.INVALID_REQUEST, "message")


@pytest.mark.parametrize("action", CALLBACK_ACTIONS)
def test_callback_without_message_or_error(action: str) -> None:
    body = body_of(action)
    del body["message"]
    err = fails(body)
    assert (err.code, err.path) == (Code.INVALID_REQUEST, "message")


@pytest.mark.parametrize("missing", ["bpp_id", "bpp_uri"])
def test_callback_must_name_the_seller(missing: str) -> None:
    body = body_of("on_select")
    del body["context"][missing]
    err = fails(body)
    assert (err.code, err.type, err.path) == (Code.INVALID_REQUEST, ErrorType.CONTEXT, f"context.{missing}")


CONTEXT_CASES: list[tuple[str, Any]] = [
    ("domain", None),
    ("domain", 42),
    ("location", None),
    ("location", "std:080"),
    ("location.city", None),
    ("location.city.code", None),
    ("location.country.code", None),
    ("location.country.code", 356),
    ("bap_id", None),
    ("bap_uri", None),
    ("bap_uri", "buyer.example.org/beckn"),
    ("bap_uri", "https://"),
    ("bpp_uri", "not a uri"),
    ("transaction_id", None),
    ("transaction_id", "txn-1"),
    ("message_id", None),
    ("message_id", "8100d125-76a7-4588-88be-81b97657cd0"),
    ("message_id", 12345),
    ("timestamp", None),
    ("timestamp", "2023-11-06 09:41:09"),
    ("timestamp", "2023-11-06T09:41:09"),  # no offset: not RFC 3339
    ("timestamp", "2023-13-06T09:41:09Z"),
    ("timestamp", "2023-11-06T25:41:09Z"),
    ("timestamp", "06/11/2023"),
    ("timestamp", 1699263669),
    ("ttl", "30s"),
    ("ttl", "P"),
    ("ttl", "PT"),
    ("ttl", "P1.5D"),
    ("ttl", 30),
    ("key", 7),
]


def _set(obj: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        obj = obj[part]
    if value is None:
        del obj[last]
    else:
        obj[last] = value


@pytest.mark.parametrize(("field", "value"), CONTEXT_CASES, ids=lambda v: repr(v)[:30])
def test_malformed_context_field(field: str, value: Any) -> None:
    body = body_of("select")
    _set(body["context"], field, value)
    err = fails(body)
    assert (err.code, err.type) == (Code.INVALID_REQUEST, ErrorType.CONTEXT)
    assert err.path == f"context.{field}"
    assert err.message.startswith(f"context.{field}:")


MESSAGE_CASES: list[tuple[str, str, Any, str]] = [
    ("select", "order", None, "message.order"),
    ("select", "order", [], "message.order"),
    ("select", "order.items", {"id": "x"}, "message.order.items"),
    ("select", "order.items.0.id", 17, "message.order.items[0].id"),
    ("init", "order.quote.price.value", 2431.0, "message.order.quote.price.value"),
    ("init", "order.quote.price.value", "24,31", "message.order.quote.price.value"),
    ("confirm", "order.payments.0.status", "PENDING", "message.order.payments[0].status"),
    (
        "confirm",
        "order.fulfillments.0.stops.1.location.gps",
        "north pole",
        "message.order.fulfillments[0].stops[1].location.gps",
    ),
    (
        "confirm",
        "order.items.0.quantity.selected.count",
        "two",
        "message.order.items[0].quantity.selected.count",
    ),
    ("status", "order_id", None, "message.order_id"),
    ("status", "order_id", {"id": "x"}, "message.order_id"),
    ("track", "order_id", None, "message.order_id"),
    ("cancel", "order_id", None, "message.order_id"),
    ("update", "update_target", None, "message.update_target"),
    (
        "confirm",
        "order.items.0.quantity.selected.count",
        "2",
        "message.order.items[0].quantity.selected.count",
    ),
    (
        "confirm",
        "order.items.0.quantity.selected.count",
        2.0,
        "message.order.items[0].quantity.selected.count",
    ),
    ("confirm", "order.fulfillments.0.tracking", "true", "message.order.fulfillments[0].tracking"),
    ("confirm", "order.fulfillments.0.tracking", 1, "message.order.fulfillments[0].tracking"),
    ("rating", "ratings.0.rating_category", "Mood", "message.ratings[0].rating_category"),
    ("on_search", "catalog", None, "message.catalog"),
    (
        "on_search",
        "catalog.providers.0.items.1.tags.0.list.0.display",
        "maybe",
        "message.catalog.providers[0].items[1].tags[0].list[0].display",
    ),
    ("on_track", "tracking.status", "lost", "message.tracking.status"),
    ("on_cancel", "order.cancellation.cancelled_by", "ROBOT", "message.order.cancellation.cancelled_by"),
]


def _set_path(obj: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    if isinstance(obj, list):
        obj[int(last)] = value
    elif value is None:
        del obj[last]
    else:
        obj[last] = value


@pytest.mark.parametrize(("action", "field", "value", "path"), MESSAGE_CASES, ids=lambda v: str(v)[:24])
def test_message_that_does_not_fit_the_model(action: str, field: str, value: Any, path: str) -> None:
    body = body_of(action)
    _set_path(body["message"], field, value)
    err = fails(body, expected_action=action)
    assert (err.code, err.type, err.path) == (Code.INVALID_REQUEST, ErrorType.JSON_SCHEMA, path)
    assert err.message.startswith(path + ":")


def test_error_message_does_not_echo_huge_values() -> None:
    body = body_of("search")
    body["context"]["action"] = "x" * 10_000
    assert len(fails(body).message) < 200
    body = body_of("search")
    body["context"]["timestamp"] = "y" * 10_000
    assert len(fails(body).message) < 200


# ---------------------------------------------------------------- ttl


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [
        ("PT30S", 30.0),
        ("PT0S", 0.0),
        ("PT1.5S", 1.5),
        ("PT0,25S", 0.25),
        ("PT10M", 600.0),
        ("PT1H30M", 5400.0),
        ("PT1H0M5S", 3605.0),
        ("P1D", 86400.0),
        ("P1DT12H", 129600.0),
        ("P2W", 1_209_600.0),
        ("P1M", 30 * 86400.0),
        ("P1Y", 365 * 86400.0),
    ],
)
def test_parse_ttl(ttl: str, seconds: float) -> None:
    assert parse_ttl(ttl) == seconds


@pytest.mark.parametrize(
    "ttl",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "30",
        "PT30",
        "T30S",
        "pt30s",
        "PT-5S",
        "P1.5D",
        "PT1S30M",
        "PT 30S",
        "1 day",
        "P" + "9" * 50 + "D",
    ],
)
def test_parse_ttl_rejects_garbage(ttl: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_ttl(ttl)
    assert info.value.code == Code.INVALID_REQUEST


@given(st.integers(0, 99), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_parse_ttl_adds_up_the_parts(d: int, h: int, m: int, s: int) -> None:
    assert parse_ttl(f"P{d}DT{h}H{m}M{s}S") == d * 86400 + h * 3600 + m * 60 + s


@given(st.text(max_size=40))
def test_parse_ttl_raises_only_protocol_errors(text: str) -> None:
    try:
        assert parse_ttl(text) >= 0
    except ProtocolError:
        pass


# ---------------------------------------------------------------- ack, nack, dump, make_context


def test_ack_and_nack() -> None:
    assert orjson.loads(ack_body()) == {"message": {"ack": {"status": "ACK"}}}
    err = ProtocolError(Code.ACTION_NOT_APPLICABLE, "no such thing")
    assert orjson.loads(nack_body(err)) == {
        "message": {"ack": {"status": "NACK"}},
        "error": {"code": "40001", "message": "no such thing"},
    }


def test_make_context_for_a_new_request() -> None:
    now = datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=UTC)
    ctx = make_context(
        "search",
        domain="retail:1.1.0",
        country="IND",
        city="std:080",
        bap_id="buyer.example.org",
        bap_uri="https://buyer.example.org/beckn",
        ttl="PT30S",
        now=now,
    )
    assert ctx.action == "search" and ctx.version == "1.1.0"
    assert ctx.timestamp == "2026-11-24T10:00:00.123Z"
    assert uuid.UUID(ctx.transaction_id) != uuid.UUID(ctx.message_id)
    assert ctx.bpp_id is None and ctx.ttl_seconds == 30.0
    other = make_context(
        "search", domain="d", country="IND", city="*", bap_id="b", bap_uri="https://b.example", now=now
    )
    assert other.transaction_id != ctx.transaction_id  # fresh ids each time


def test_make_context_for_a_callback() -> None:
    received = parse_request(orjson.dumps(BODIES["search"])).context
    later = datetime(2026, 11, 24, 10, 15, 31, tzinfo=UTC)
    ctx = make_context(
        reply_to=received, bpp_id="seller.example.org", bpp_uri="https://seller.example.org/b", now=later
    )
    assert ctx.action == "on_search"
    assert (ctx.transaction_id, ctx.message_id) == (received.transaction_id, received.message_id)
    assert (ctx.bap_id, ctx.bap_uri, ctx.domain) == (received.bap_id, received.bap_uri, received.domain)
    assert ctx.location == received.location and ctx.ttl == received.ttl
    assert ctx.bpp_id == "seller.example.org"
    assert ctx.sent_at == later
    # a callback built this way parses as the callback of the right action
    body = {
        "context": ctx.model_dump(by_alias=True, exclude_none=True),
        "message": BODIES["on_search"]["message"],
    }
    assert isinstance(parse_request(orjson.dumps(body), expected_action="on_search"), OnSearchRequest)


def test_make_context_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="domain"):
        make_context("search", country="IND", city="std:080", bap_id="b", bap_uri="https://b.example")
    with pytest.raises(ValueError, match="bap_uri"):
        make_context("search", domain="d", country="IND", city="x", bap_id="b", bap_uri="nope")
    received = parse_request(orjson.dumps(BODIES["on_search"])).context
    with pytest.raises(ValueError, match="not a Beckn request action"):
        make_context(reply_to=received)  # there is no callback of a callback
    with pytest.raises(ValueError, match="ttl"):
        make_context(reply_to=parse_request(orjson.dumps(BODIES["select"])).context, ttl="soon")


def test_format_timestamp_is_rfc3339_utc() -> None:
    ist = datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC) + timedelta(hours=0)
    assert format_timestamp(ist) == "2026-01-02T03:04:05.999Z"
    assert format_timestamp().endswith("Z")


@given(st.datetimes(datetime(1000, 1, 2), datetime(9999, 12, 30), timezones=st.timezones()))
def test_format_timestamp_matches_strftime(when: datetime) -> None:
    u = when.astimezone(UTC)
    assert format_timestamp(when) == u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def test_format_timestamp_writes_four_digit_years() -> None:  # strftime writes year 999 as "999"
    assert format_timestamp(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000Z"


def test_a_remembered_ttl_does_not_let_a_bad_one_through() -> None:
    for ttl in ("PT30S", "PT30S", "P1DT2H", "PT0.5S"):  # valid ones, the first twice (from the cache)
        body = body_of("select")
        body["context"]["ttl"] = ttl
        assert parse_request(orjson.dumps(body)).context.ttl == ttl
    for _ in range(2):  # a refused one is refused again: failures are never remembered
        body = body_of("select")
        body["context"]["ttl"] = "PT30"
        assert fails(body).path == "context.ttl"
    body["context"]["ttl"] = "P" + "T1S" * 40  # longer than what is remembered: checked each time
    assert fails(body).path == "context.ttl"


# ---------------------------------------------------------------- nothing but ProtocolError, ever


def _parse_or_protocol_error(raw: bytes, expected: str | None = None) -> None:
    try:
        parsed = parse_request(raw, expected_action=expected)
    except ProtocolError as err:
        assert err.code in (Code.INVALID_REQUEST, Code.ACTION_NOT_APPLICABLE)
        assert err.message
        orjson.loads(nack_body(err))  # always serialisable
    else:
        assert parsed.context.version == "1.1.0"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _parse_or_protocol_error(raw)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json(value: Any) -> None:
    _parse_or_protocol_error(orjson.dumps(value))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_ACTIONS), json_values, st.sampled_from([None, *ALL_ACTIONS]))
def test_random_message_in_a_valid_envelope(action: str, message: Any, expected: str | None) -> None:
    _parse_or_protocol_error(orjson.dumps({"context": context(action), "message": message}), expected)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_ACTIONS), st.data(), json_values)
def test_random_mutation_of_a_valid_body(action: str, data: st.DataObject, replacement: Any) -> None:
    body = body_of(action)
    path = data.draw(st.sampled_from(_paths(body)[1:]))
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    _parse_or_protocol_error(orjson.dumps(body), action)

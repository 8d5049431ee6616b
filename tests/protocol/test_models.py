"""The models: faithful to the Beckn schema, lossless round trips, unknown fields kept at every depth."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from mercato.protocol import models as M
from mercato.protocol.actions import ALL_ACTIONS, CALLBACK_ACTIONS, SELLER_ACTIONS, callback_for, request_for
from mercato.protocol.messages import REQUEST_MODELS, dump, parse_request
from tests.conftest import SPECS
from tests.protocol.test_schemas import example_files, rich_bodies

BODIES = rich_bodies()
DEFINITIONS: dict[str, Any] = json.loads((SPECS / "jsonschema-core-v1.1.0" / "definitions.json").read_text())[
    "$defs"
]


def parse(raw: bytes) -> M.Request:
    return parse_request(raw)


# ---------------------------------------------------------------- the models follow the schema


@pytest.mark.parametrize("name", sorted(n for n, d in DEFINITIONS.items() if "properties" in d))
def test_every_schema_object_has_a_model_with_the_same_fields(name: str) -> None:
    model = getattr(M, name)
    assert issubclass(model, M.BecknModel)
    wire_names = {field.alias or attr for attr, field in model.model_fields.items()}
    assert wire_names == set(DEFINITIONS[name]["properties"])


def test_string_types_stay_strings() -> None:
    """Beckn sends decimals, ratings and GPS as strings; the models keep them as sent."""
    price = M.Price.model_validate({"currency": "INR", "value": "1200.50"})
    assert price.value == "1200.50"
    for bad in (1200.5, 1200, "12,00", "1e3", "", "abc1"):
        with pytest.raises(ValidationError):
            M.Price.model_validate({"value": bad})
    for ok in ("0", "-3", "+4.25", ".5", "10"):
        assert M.Price.model_validate({"value": ok}).value == ok
    assert M.Location.model_validate({"gps": "12.9352, 77.6245"}).gps == "12.9352, 77.6245"
    for bad_gps in ("91,0", "0,181", "12.9;77.6", "north"):
        with pytest.raises(ValidationError):
            M.Location.model_validate({"gps": bad_gps})
    with pytest.raises(ValidationError):
        M.Rating.model_validate({"value": 5})


def test_no_coercion_of_json_types() -> None:
    with pytest.raises(ValidationError):
        M.ItemQuantity.model_validate({"selected": {"count": "2"}})
    with pytest.raises(ValidationError):
        M.Tag.model_validate({"display": "false"})
    with pytest.raises(ValidationError):
        M.Descriptor.model_validate({"name": 42})


def test_aliases_for_names_python_cannot_use() -> None:
    group = M.TagGroup(
        descriptor=M.Descriptor(code="g"), list_=[M.Tag(descriptor=M.Descriptor(code="k"), value="v")]
    )
    assert orjson.loads(dump(group)) == {
        "descriptor": {"code": "g"},
        "list": [{"descriptor": {"code": "k"}, "value": "v"}],
    }
    assert M.TagGroup.model_validate({"list": [{"value": "v"}]}).list_ == [M.Tag(value="v")]
    loc = M.Location.model_validate({"3dspace": "box"})
    assert loc.space_3d == "box" and orjson.loads(dump(loc)) == {"3dspace": "box"}


def test_models_built_in_code_serialise_without_nulls() -> None:
    item = M.Item(id="i1", price=M.Price(currency="INR", value="10.00"), descriptor=None)
    assert orjson.loads(dump(item)) == {"id": "i1", "price": {"currency": "INR", "value": "10.00"}}
    assert orjson.loads(dump(M.Order())) == {}


def test_envelope_checks_its_action() -> None:
    body = copy.deepcopy(BODIES["select"])
    assert M.SelectRequest.model_validate(body).context.action == "select"
    with pytest.raises(ValidationError, match="expected 'init'"):
        M.InitRequest.model_validate(body)
    with pytest.raises(ValidationError, match="message or an error"):
        M.OnSelectRequest.model_validate({"context": BODIES["on_select"]["context"]})


def test_ack_response_model() -> None:
    ack = M.AckResponse.model_validate({"message": {"ack": {"status": "ACK"}}})
    assert ack.status == "ACK" and ack.error is None
    nack = M.AckResponse.model_validate(
        {"message": {"ack": {"status": "NACK"}}, "error": {"code": "30000", "message": "bad"}}
    )
    assert nack.status == "NACK" and nack.error is not None and nack.error.code == "30000"
    with pytest.raises(ValidationError):
        M.AckResponse.model_validate({"message": {"ack": {"status": "MAYBE"}}})


def test_actions() -> None:
    assert len(SELLER_ACTIONS) == len(CALLBACK_ACTIONS) == 10
    assert set(ALL_ACTIONS) == set(SELLER_ACTIONS) | set(CALLBACK_ACTIONS) == set(REQUEST_MODELS)
    for action in SELLER_ACTIONS:
        assert request_for(callback_for(action)) == action
        assert REQUEST_MODELS[callback_for(action)].ACTION == "on_" + action
    for bad in ("on_search", "dance", ""):
        with pytest.raises(ValueError):
            callback_for(bad)
    for bad in ("search", "on_dance", "on_"):
        with pytest.raises(ValueError):
            request_for(bad)


# ---------------------------------------------------------------- round trips


ALL_BODIES = [p.read_bytes() for p in example_files()] + [orjson.dumps(b) for b in BODIES.values()]


@pytest.mark.parametrize("raw", ALL_BODIES, ids=range(len(ALL_BODIES)))
def test_round_trip(raw: bytes) -> None:
    first = parse(raw)
    again = parse(dump(first))
    assert again == first
    assert dump(again) == dump(first)
    assert orjson.loads(dump(first)) == orjson.loads(raw)


UNKNOWN: dict[str, Any] = {"x_note": "kept", "x_nested": {"a": [1, 2.5, None, {"b": True}], "c": None}}


def test_unknown_fields_are_kept_at_every_depth() -> None:
    body = copy.deepcopy(BODIES["on_confirm"])
    spots: list[dict[str, Any]] = [
        body,
        body["context"],
        body["context"]["location"]["city"],
        body["message"],
        body["message"]["order"],
        body["message"]["order"]["items"][0],
        body["message"]["order"]["fulfillments"][0]["stops"][1]["location"],
        body["message"]["order"]["fulfillments"][0]["stops"][1]["authorization"],
        body["message"]["order"]["quote"]["breakup"][1]["price"],
        body["message"]["order"]["tags"][0]["list"][0]["descriptor"],
        body["message"]["order"]["payments"][0]["params"],
    ]
    for spot in spots:
        spot.update(copy.deepcopy(UNKNOWN))
    parsed = parse(orjson.dumps(body))
    assert orjson.loads(dump(parsed)) == body  # every unknown field, nulls inside them too, exactly
    assert parse(dump(parsed)) == parsed
    assert isinstance(parsed, M.OnConfirmRequest) and parsed.message is not None
    order = parsed.message.order
    assert order.items is not None and order.items[0].model_extra == UNKNOWN
    assert parsed.model_extra == UNKNOWN


def test_unknown_top_level_null_is_dropped_like_any_null() -> None:
    """JSON null and an absent field mean the same in Beckn; the serialiser writes neither."""
    body = copy.deepcopy(BODIES["search"])
    body["message"]["intent"]["x_gone"] = None
    body["message"]["intent"]["descriptor"]["code"] = None
    out = orjson.loads(dump(parse(orjson.dumps(body))))
    assert out == BODIES["search"]


def _objects(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for v in value.values():
            found += _objects(v)
    elif isinstance(value, list):
        for v in value:
            found += _objects(v)
    return found


extension_values = st.recursive(
    st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(ALL_ACTIONS),
    st.data(),
    st.lists(
        st.tuples(st.from_regex(r"x_[a-z0-9_]{1,12}", fullmatch=True), extension_values),
        min_size=1,
        max_size=4,
    ),
)
def test_unknown_fields_survive_anywhere(
    action: str, data: st.DataObject, extras: list[tuple[str, Any]]
) -> None:
    body = copy.deepcopy(BODIES[action])
    targets = _objects(body)
    for key, value in extras:
        target = targets[data.draw(st.integers(0, len(targets) - 1))]
        target[key] = value
    first = parse(orjson.dumps(body))
    assert orjson.loads(dump(first)) == body
    assert parse(dump(first)) == first


def test_every_model_is_a_beckn_model() -> None:
    for name in M.__all__:
        obj = getattr(M, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            assert issubclass(obj, M.BecknModel), name
            assert obj.model_config.get("extra") == "allow", name

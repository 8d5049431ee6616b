"""Pure parts: splitting carts, prices in minor units, the error round trip of the local API."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.buyer import errors
from mercato.buyer.cart import MAX_QUANTITY, CartError, split_cart
from mercato.buyer.views import to_decimal, to_minor

lines = st.lists(
    st.fixed_dictionaries(
        {
            "bpp_id": st.sampled_from(["a.test", "b.test", "c.test"]),
            "provider_id": st.sampled_from(["p1", "p2"]),
            "item_id": st.sampled_from(["i1", "i2", "i3"]),
            "quantity": st.integers(1, 1000),
        }
    ),
    min_size=1,
    max_size=30,
)


@given(lines)
def test_split_keeps_every_unit_and_makes_one_order_per_seller(cart: list[dict[str, object]]) -> None:
    parts = split_cart(cart)
    keys = [(p.bpp_id, p.provider_id) for p in parts]
    assert len(keys) == len(set(keys))
    assert keys == list(dict.fromkeys((str(x["bpp_id"]), str(x["provider_id"])) for x in cart))
    want: Counter[tuple[str, str, str]] = Counter()
    for x in cart:
        want[(str(x["bpp_id"]), str(x["provider_id"]), str(x["item_id"]))] += int(x["quantity"])  # type: ignore[call-overload]
    got = Counter({(p.bpp_id, p.provider_id, i): q for p in parts for i, q in p.items.items()})
    assert got == want


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [{"bpp_id": "a", "provider_id": "p", "item_id": "i", "quantity": 0}],
        [{"bpp_id": "a", "provider_id": "p", "item_id": "i", "quantity": True}],
        [{"bpp_id": "a", "provider_id": "p", "item_id": "i", "quantity": 1.5}],
        [{"bpp_id": "", "provider_id": "p", "item_id": "i"}],
        [{"provider_id": "p", "item_id": "i"}],
        [{"bpp_id": "a", "provider_id": "p", "item_id": "i", "bpp_uri": "file:///etc"}],
        ["a"],
        [{"bpp_id": "a", "provider_id": "p", "item_id": "i", "quantity": MAX_QUANTITY}] * 2,
    ],
)
def test_bad_carts(bad: list[object]) -> None:
    with pytest.raises(CartError):
        split_cart(bad)  # type: ignore[arg-type]


@given(st.integers(-(10**15), 10**15), st.sampled_from(["INR", "JPY", "KWD", "USD"]))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    assert to_minor(to_decimal(minor, currency), currency) == minor


def test_prices() -> None:
    assert to_minor("120.5", "INR") == 12050
    assert to_minor("120", "JPY") == 120
    assert to_minor("1.2345", "INR") is None  # finer than a paisa
    assert to_minor("1.2300", "INR") == 123
    assert to_minor("abc", "INR") is None and to_minor(None, "INR") is None


def test_errors_survive_the_local_api() -> None:
    cases: list[errors.BuyerError] = [
        errors.Nack("40002", "out of stock", bpp_id="s", in_callback=True),
        errors.DeadlineExceeded("late", arrived=[{"bpp_id": "s"}]),
        errors.SellerUnavailable("gone", bpp_id="s"),
        errors.GatewayUnavailable("gone"),
        errors.Conflict("not yet"),
        errors.NotFound("no"),
        errors.BadRequest("bad"),
        errors.Unauthorized("who"),
    ]
    for err in cases:
        back = errors.from_json(err.to_json(), err.http_status)
        assert type(back) is type(err) and back.to_json() == err.to_json()
    assert type(errors.from_json("junk", 500)) is errors.BuyerError
    assert type(errors.from_json({"kind": "martian"}, 500)) is errors.BuyerError

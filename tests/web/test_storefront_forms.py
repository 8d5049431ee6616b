"""The storefront's forms and cart without I/O: every bad input gets its message; cart arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.buyer.cart import MAX_QUANTITY
from mercato.buyer.web_forms import (
    BUYER_CANCEL_REASONS,
    MAX_CART_LINES,
    FormError,
    add_line,
    group_by_seller,
    line_total,
    parse_cancel_reason,
    parse_checkout,
    parse_quantity,
    parse_rating,
    set_quantity,
    unit_price,
)

GOOD = {
    "name": "Asha Rao", "phone": "+91 98450 12345", "email": "", "address": "12, 4th Cross, Jayanagar",
    "city": "std:080", "area_code": "560041", "payment": "ON-ORDER",
}  # fmt: skip


def item(seller: str, i: str, price: int = 100, tiers: list[list[int]] | None = None) -> dict[str, Any]:
    return {"bpp_id": seller, "provider_id": seller + "-p", "item_id": i, "name": i, "price": price,
            "currency": "INR", "price_breaks": tiers or []}  # fmt: skip


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("xyz"), st.integers(1, 1000)), max_size=40))
def test_adding_lines_adds_up_per_item_and_groups_per_seller(adds: list[tuple[str, str, int]]) -> None:
    lines: list[dict[str, Any]] = []
    for seller, i, q in adds:
        lines = add_line(lines, item(seller, i), q)
    totals: dict[tuple[str, str], int] = {}
    for seller, i, q in adds:
        totals[(seller, i)] = totals.get((seller, i), 0) + q
    assert {(ln["bpp_id"], ln["item_id"]): ln["quantity"] for ln in lines} == totals
    groups = group_by_seller(lines)
    assert [g.bpp_id for g in groups] == list(dict.fromkeys(s for s, _, _ in adds))
    assert sum(g.total for g in groups) == 100 * sum(totals.values())
    assert sorted(ln["index"] for g in groups for ln in g.lines) == list(range(len(lines)))


@given(st.integers(1, 500))
def test_volume_tiers_price_the_line(q: int) -> None:
    line = {**item("a", "x", 1000, [[10, 900], [100, 800]]), "quantity": q}
    expected = 800 if q >= 100 else 900 if q >= 10 else 1000
    assert unit_price(line) == expected and line_total(line) == expected * q


def test_cart_limits_and_bad_indexes() -> None:
    lines = add_line([], item("a", "x"), MAX_QUANTITY)
    with pytest.raises(FormError) as exc:
        add_line(lines, item("a", "x"), 1)
    assert "quantity" in exc.value.errors
    full: list[dict[str, Any]] = []
    for n in range(MAX_CART_LINES):
        full = add_line(full, item("a", f"i{n}"), 1)
    with pytest.raises(FormError):
        add_line(full, item("a", "one-more"), 1)
    for bad in (-1, 1):
        with pytest.raises(FormError) as exc:
            set_quantity(lines, bad, 1)
        assert "line" in exc.value.errors
    assert set_quantity(lines, 0, 0) == [] and set_quantity(lines, 0, 3)[0]["quantity"] == 3


@pytest.mark.parametrize("bad", [None, "", "0", "-2", "1.5", "x", str(MAX_QUANTITY + 1), " "])
def test_bad_quantities(bad: Any) -> None:
    with pytest.raises(FormError) as exc:
        parse_quantity(bad, "qty")
    assert set(exc.value.errors) == {"qty"}


def test_ratings_and_cancel_reasons() -> None:
    assert [parse_rating(str(v)) for v in range(1, 6)] == [1, 2, 3, 4, 5]
    for bad in (None, "", "0", "6", "4.5", "five"):
        with pytest.raises(FormError):
            parse_rating(bad)
    assert all(parse_cancel_reason(code) == code for code in BUYER_CANCEL_REASONS)
    for bad in (None, "", "012", "999", "6"):  # 012 and 999 are the seller's and the system's
        with pytest.raises(FormError):
            parse_cancel_reason(bad)


def test_checkout_builds_beckn_billing_delivery_and_payment() -> None:
    checkout, values, errors = parse_checkout({**GOOD, "email": " asha@example.com "})
    assert errors == {} and checkout is not None and values["email"] == "asha@example.com"
    assert checkout.billing() == {"name": "Asha Rao", "phone": "+91 98450 12345", "email": "asha@example.com",
                                  "address": GOOD["address"], "city": {"code": "std:080"}}  # fmt: skip
    stop = checkout.fulfillment()["stops"][0]
    assert stop["location"]["area_code"] == "560041" and stop["person"] == {"name": "Asha Rao"}
    assert checkout.payment_terms() == {"type": "ON-ORDER"}
    assert "email" not in parse_checkout(GOOD)[0].billing()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "bad"),
    [("name", "A"), ("name", "x" * 101), ("phone", "12"), ("phone", "call me"), ("email", "a@b"),
     ("email", "x" * 195 + "@a.com"), ("address", "abc"), ("city", "Bengaluru"), ("area_code", "56004"),
     ("area_code", "060041"), ("payment", "BARTER"), ("payment", "")],
)  # fmt: skip
def test_each_bad_checkout_field_gets_its_own_error(field: str, bad: str) -> None:
    checkout, values, errors = parse_checkout({**GOOD, field: bad})
    assert checkout is None and set(errors) == {field} and values[field] == bad.strip()

from __future__ import annotations

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    CurrencyMismatch,
    DeliveryPolicy,
    FulfillmentType,
    FulfillmentUnavailable,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    LineRequest,
    Money,
    Offer,
    QuoteChanged,
    UnknownEntity,
)
from mercato.seller.domain.catalog import Item
from mercato.seller.domain.quotes import ChangeKind, build_quote, recheck, reprice, require_unchanged

from .shop import DELIVERY, T0, WELCOME, inr, make_catalog, make_stock


def quote(*lines: tuple[str, int], **kw: object):  # type: ignore[no-untyped-def]
    return build_quote(
        make_catalog(),
        kw.pop("stock", make_stock()),
        "P1",  # type: ignore[arg-type]
        [LineRequest(i, q) for i, q in lines],
        **kw,
    )  # type: ignore[arg-type]


def check_adds_up(q) -> None:  # type: ignore[no-untyped-def]
    s = sum(ln.amount.amount for ln in q.lines)
    assert q.total.amount == s + q.delivery.amount + q.tax_total.amount - q.discount_total.amount
    assert sum(m.amount for _, _, m in q.breakup()) == q.total.amount


def test_hand_computed_quote_with_breaks_offer_and_free_delivery() -> None:
    q = quote(("A", 5), ("B", 2), delivery_policy=DELIVERY, offers=[WELCOME])
    a, b = q.lines
    assert (a.unit_price, a.amount, a.discount, a.tax) == (inr(9_000), inr(45_000), inr(4_500), inr(7_290))
    assert (b.unit_price, b.amount, b.discount, b.tax) == (inr(2_550), inr(5_100), inr(510), inr(230))
    assert q.delivery == inr(0)  # free from 500.00
    assert q.items_subtotal == inr(50_100) and q.discount_total == inr(5_010)
    assert q.total == inr(52_610)
    assert (a.available_quantity, b.available_quantity) == (8, 4)
    check_adds_up(q)


def test_small_quote_pays_taxed_delivery_and_no_offer() -> None:
    q = quote(("A", 1), delivery_policy=DELIVERY, offers=[WELCOME])
    assert q.discount_total == inr(0)
    assert (q.delivery, q.delivery_tax) == (inr(4_000), inr(720))
    assert q.total == inr(10_000 + 1_800 + 4_000 + 720)
    assert ("delivery", None, inr(4_000)) in q.breakup()
    check_adds_up(q)


def test_pickup_has_no_delivery_and_fixed_offer_is_capped() -> None:
    q = quote(
        ("B", 1),
        fulfillment=FulfillmentType.PICKUP,
        delivery_policy=DELIVERY,
        offers=[Offer("BIG", amount=inr(10_000))],
    )
    assert q.delivery == inr(0) and q.discount_total == inr(2_550)
    assert q.total == inr(0)
    assert q.location_ids == ("L1",)


@pytest.mark.parametrize(
    ("lines", "exc", "code"),
    [
        ([("NOPE", 1)], UnknownEntity, Code.ITEM_NOT_FOUND),
        ([("Z", 1)], InvalidInput, Code.INVALID_REQUEST),  # another provider's item
        ([("A", 0)], InvalidQuantity, Code.INVALID_REQUEST),
        ([("A", -2)], InvalidQuantity, Code.INVALID_REQUEST),
        ([("A", 21)], InvalidQuantity, Code.INVALID_REQUEST),  # over the item's maximum
        ([("A", 1), ("A", 1)], InvalidInput, Code.INVALID_REQUEST),
        ([], InvalidInput, Code.INVALID_REQUEST),
    ],
)
def test_bad_baskets(lines: list[tuple[str, int]], exc: type[Exception], code: Code) -> None:
    with pytest.raises(exc) as e:
        quote(*lines)
    assert e.value.code is code  # type: ignore[attr-defined]


def test_quantity_type_and_maximum_are_reported() -> None:
    with pytest.raises(InvalidQuantity) as e:
        quote(("A", 21))
    assert (e.value.item_id, e.value.quantity, e.value.maximum) == ("A", 21, 20)
    with pytest.raises(InvalidInput):
        quote(("A", True))
    with pytest.raises(UnknownEntity):
        build_quote(make_catalog(), make_stock(), "P404", [LineRequest("A", 1)])


def test_unserviceable_destination_and_fulfillment() -> None:
    with pytest.raises(FulfillmentUnavailable) as e:
        quote(("A", 1), city="std:011")
    assert e.value.code is Code.FULFILLMENT_UNAVAILABLE
    with pytest.raises(FulfillmentUnavailable):
        quote(("C-M", 1), fulfillment=FulfillmentType.PICKUP)  # delivery-only item


def test_currency_mismatch_in_policy_or_offer() -> None:
    with pytest.raises(CurrencyMismatch):
        quote(("A", 1), delivery_policy=DeliveryPolicy(Money(100, "USD")))
    with pytest.raises(CurrencyMismatch):
        quote(("A", 5), offers=[Offer("X", amount=Money(100, "USD"))])


def test_availability_is_reported_per_line_and_backorder_is_open() -> None:
    q = quote(("A", 9), ("C-L", 3))
    a, c = q.lines
    assert (a.available_quantity, a.is_available) == (8, False)
    assert (c.available_quantity, c.is_available) == (5, True)  # backorder: up to the maximum
    assert not q.fully_available


def test_recheck_finds_a_price_change_and_answers_with_the_fresh_quote() -> None:
    cat, stock = make_catalog(), make_stock()
    earlier = build_quote(cat, stock, "P1", [LineRequest("A", 2)])
    a = cat.item("A")
    cat.add_item(Item(**{**a.__dict__, "price": inr(11_000)}))
    fresh = build_quote(cat, stock, "P1", [LineRequest("A", 2)])
    changes = recheck(earlier, fresh)
    assert [(c.kind, c.before, c.after) for c in changes] == [
        (ChangeKind.PRICE_CHANGED, inr(10_000), inr(11_000))
    ]
    with pytest.raises(QuoteChanged) as e:
        require_unchanged(earlier, fresh)
    assert e.value.fresh is fresh and e.value.code is Code.QUOTE_UNAVAILABLE
    assert require_unchanged(earlier, earlier) is earlier


def test_recheck_reports_stock_gone_with_quantity_left() -> None:
    cat, stock = make_catalog(), make_stock()
    earlier = build_quote(cat, stock, "P1", [LineRequest("A", 6)])
    stock.reserve("A", "L1", 4, T0, ref="someone-else")
    fresh = build_quote(cat, stock, "P1", [LineRequest("A", 6)])
    assert [(c.kind, c.before, c.after) for c in recheck(earlier, fresh)] == [
        (ChangeKind.QUANTITY_UNAVAILABLE, 6, 4)
    ]
    with pytest.raises(InsufficientStock) as e:
        require_unchanged(earlier, fresh)
    assert e.value.quantity_left("A") == 4 and e.value.code is Code.ITEM_QUANTITY_UNAVAILABLE


def test_recheck_other_changes() -> None:
    one = quote(("A", 1))
    two = quote(("A", 1), ("B", 1))
    assert [c.kind for c in recheck(one, two)] == [ChangeKind.LINES_CHANGED]
    with_delivery = quote(("A", 1), delivery_policy=DELIVERY)
    assert [c.kind for c in recheck(one, with_delivery)] == [ChangeKind.TOTAL_CHANGED]
    assert "total changed" in QuoteChanged(recheck(one, with_delivery), with_delivery).message


def test_reprice_keeps_quoted_unit_prices() -> None:
    q = quote(("A", 5), ("B", 2), delivery_policy=DELIVERY, offers=[WELCOME])
    r = reprice(q, {"A": 2})
    assert r.line("A").unit_price == inr(9_000)  # the break price stays although 2 < 5
    assert r.line("B").quantity == 2
    assert r.total < q.total
    check_adds_up(r)
    assert reprice(q, {"A": 0, "B": 0}).total == inr(0)
    for bad in ({"A": 6}, {"A": -1}, {"X": 1}):
        with pytest.raises(InvalidInput):
            reprice(q, bad)

from __future__ import annotations

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Action,
    InvalidInput,
    InvalidRating,
    LineRequest,
    SupportUnavailable,
    UnknownEntity,
)
from mercato.seller.domain.orders import apply, create_order
from mercato.seller.domain.quotes import build_quote
from mercato.seller.domain.ratings import RatingCategory, rate
from mercato.seller.domain.support import SupportContact, SupportDirectory

from .shop import T0, make_catalog, make_stock


def orders():  # type: ignore[no-untyped-def]
    cat, stock = make_catalog(), make_stock()
    order, _ = create_order(cat, stock, "O1", build_quote(cat, stock, "P1", [LineRequest("A", 1)]), T0)
    apply(order, Action.ACCEPT, stock, T0)
    return {"O1": order}


@pytest.mark.parametrize(
    ("category", "entity"), [("Order", "O1"), ("Item", "A"), ("Provider", "P1"), ("Fulfillment", "O1-F1")]
)
def test_valid_ratings(category: str, entity: str) -> None:
    r = rate(orders(), "O1", category, entity, "4", T0, "good")
    assert (r.category, r.entity_id, r.value) == (RatingCategory(category), entity, 4)


def test_rating_errors() -> None:
    os = orders()
    with pytest.raises(UnknownEntity) as e:
        rate(os, "O404", "Order", "O404", 5, T0)
    assert e.value.code is Code.ORDER_NOT_FOUND
    for cat, ent in [("Item", "B"), ("Provider", "P2"), ("Fulfillment", "F9"), ("Order", "O2")]:
        with pytest.raises(UnknownEntity) as e:
            rate(os, "O1", cat, ent, 5, T0)
        assert e.value.code is Code.ENTITY_TO_RATE_NOT_FOUND
    with pytest.raises(InvalidRating) as e2:
        rate(os, "O1", "Agent", "x", 5, T0)
    assert e2.value.code is Code.UNSUPPORTED_RATING_CATEGORY
    for bad in (0, 6, "4.5", True, None, "", -1):
        with pytest.raises(InvalidRating) as e2:
            rate(os, "O1", "Order", "O1", bad, T0)
        assert e2.value.code is Code.INVALID_RATING_VALUE


def test_unaccepted_order_cannot_be_rated() -> None:
    cat, stock = make_catalog(), make_stock()
    order, _ = create_order(cat, stock, "O2", build_quote(cat, stock, "P1", [LineRequest("A", 1)]), T0)
    with pytest.raises(InvalidRating):
        rate({"O2": order}, "O2", "Order", "O2", 5, T0)


def test_support_directory() -> None:
    d = SupportDirectory(default=SupportContact(email="help@node.example"))
    d.set_provider("P1", SupportContact(phone="+91 80 1234 5678", hours="Mon-Sat 09:00-18:00 IST"))
    d.set_order("O1", "P1")
    d.set_order("O2", "P2")
    d.set_order("O3", "P1", SupportContact(url="https://shop.example/orders/O3"))
    assert d.contact_for("O1").phone == "+91 80 1234 5678"
    assert d.contact_for("P1").phone == "+91 80 1234 5678"
    assert d.contact_for("O2").email == "help@node.example"  # P2 has none: node default
    assert d.contact_for("O3").url == "https://shop.example/orders/O3"
    with pytest.raises(SupportUnavailable) as e:
        d.contact_for("O404")
    assert e.value.code is Code.SUPPORT_UNAVAILABLE
    with pytest.raises(SupportUnavailable):
        SupportDirectory().contact_for("O1")


@pytest.mark.parametrize(
    "kw", [{}, {"phone": "call me"}, {"email": "not-an-email"}, {"url": "ftp://x"}, {"phone": "12"}]
)
def test_bad_contacts(kw: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        SupportContact(**kw)

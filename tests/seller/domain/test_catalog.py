from __future__ import annotations

from datetime import timedelta

import pytest

from mercato.protocol.errors import Code
from mercato.seller.domain import (
    Category,
    CurrencyMismatch,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    InvalidInput,
    Item,
    Money,
    Option,
    PriceBreak,
    UnknownEntity,
)

from .shop import inr, make_catalog


def test_lookups_and_unknown_ids_carry_beckn_codes() -> None:
    cat = make_catalog()
    assert cat.item("A").descriptor.name == "Assam tea 500 g"
    for fn, code in [
        (cat.item, Code.ITEM_NOT_FOUND),
        (cat.provider, Code.PROVIDER_NOT_FOUND),
        (cat.location, Code.PROVIDER_LOCATION_NOT_FOUND),
        (cat.category, Code.CATEGORY_NOT_FOUND),
    ]:
        with pytest.raises(UnknownEntity) as e:
            fn("nope")
        assert e.value.code is code
        assert e.value.to_protocol_error().code is code


def test_price_breaks_pick_the_largest_reached() -> None:
    a = make_catalog().item("A")
    assert [a.unit_price(q).amount for q in (1, 4, 5, 9, 10, 20)] == [10_000] * 2 + [9_000] * 2 + [8_500] * 2


def test_variants_and_locations() -> None:
    cat = make_catalog()
    assert [i.id for i in cat.variants_of("C")] == ["C-L", "C-M"]
    assert cat.item("C-M").options == (Option("size", "M"),)
    assert [loc.id for loc in cat.locations_for("A")] == ["L1", "L2"]
    assert [loc.id for loc in cat.locations_for("C-L")] == ["L1"]
    assert [i.id for i in cat.items_of("P2")] == ["Z"]
    # L2 does no self-pickup
    assert [loc.id for loc in cat.serving_locations("A", FulfillmentType.PICKUP)] == ["L1"]


def test_serviceability_by_city_and_radius() -> None:
    cat = make_catalog()
    l1, l2 = cat.location("L1"), cat.location("L2")
    near = GeoPoint.parse("12.980000,77.610000")  # ~700 m from L1
    far = GeoPoint.parse("13.200000,77.700000")  # ~27 km away
    assert l1.serves("std:080") and l2.serves("std:080")
    assert not l2.serves("std:011")
    assert l1.serves("std:011", near) and not l1.serves("std:011", far)
    assert not l2.serves(None, near)  # L2 has no radius
    assert l1.serves()
    assert [loc.id for loc in cat.serving_locations("A", FulfillmentType.DELIVERY, "std:011", near)] == ["L1"]


def test_geopoint_parse_and_distance() -> None:
    p = GeoPoint.parse(" -12.5 , 77.123456 ")
    assert (p.lat_e6, p.lon_e6) == (-12_500_000, 77_123_456)
    assert str(p) == "-12.500000,77.123456"
    assert GeoPoint.parse(str(p)) == p
    # one degree of latitude is about 111.2 km
    assert 111_000 < GeoPoint(0, 0).distance_m(GeoPoint(1_000_000, 0)) < 111_400
    for bad in ["12.9", "91.0,10", "12.1234567,1", "a,b", ""]:
        with pytest.raises(InvalidInput):
            GeoPoint.parse(bad)


def item(**kw: object) -> Item:
    base: dict[str, object] = {
        "id": "X",
        "provider_id": "P1",
        "descriptor": Descriptor("x"),
        "price": inr(100),
    }
    base.update(kw)
    return Item(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kw",
    [
        {"price": inr(-1)},
        {"tax_rate_bp": 10_001},
        {"tax_rate_bp": -5},
        {"max_quantity": 0},
        {"returnable": True},  # no window
        {"time_to_ship": timedelta(hours=-1)},
        {"fulfillment_types": frozenset()},
        {"price_breaks": (PriceBreak(1, inr(90)),)},
        {"price_breaks": (PriceBreak(3, inr(90)), PriceBreak(3, inr(80)))},
        {"price_breaks": (PriceBreak(3, inr(-1)),)},
        {"options": (Option("size", "M"), Option("size", "L"))},
    ],
)
def test_bad_items_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        item(**kw)


def test_bad_references_are_refused() -> None:
    cat = make_catalog()
    with pytest.raises(CurrencyMismatch):
        item(price_breaks=(PriceBreak(3, Money(90, "USD")),))
    with pytest.raises(CurrencyMismatch):
        cat.add_item(item(price=Money(100, "USD")))
    with pytest.raises(UnknownEntity):
        cat.add_item(item(provider_id="P404"))
    with pytest.raises(UnknownEntity):
        cat.add_item(item(category_id="nope"))
    with pytest.raises(InvalidInput):
        cat.add_item(item(location_ids=("L9",)))  # another provider's location
    with pytest.raises(InvalidInput):
        cat.add_item(item(parent_item_id="X"))
    with pytest.raises(InvalidInput):
        cat.add_item(item(id=" "))
    with pytest.raises(InvalidInput):
        Descriptor(" ")
    with pytest.raises(InvalidInput):
        Descriptor("x", images=("ftp://x",))
    with pytest.raises(UnknownEntity):
        cat.add_category(Category("c", "c", "missing"))


def test_category_cycle_is_refused() -> None:
    cat = make_catalog()
    with pytest.raises(InvalidInput):
        cat.add_category(Category("grocery", "Grocery", "tea"))  # tea's parent is grocery

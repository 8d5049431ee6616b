"""The seed shops' supply twins are valid and promise: stock for shops, the press line for the factory."""

from __future__ import annotations

from datetime import date

import pytest

from mercato.network import seeds
from mercato.supply.parse import parse_twin
from mercato.supply.promise import Plan, Source


@pytest.mark.parametrize("index", range(8))
def test_every_seed_twin_is_valid_and_covers_the_catalog(index: int) -> None:
    shop = seeds.shop_for(index)
    twin = parse_twin(seeds.twin_document(shop))
    assert {it.sku for it in shop.items} <= {i.id for i in twin.items}
    loc = seeds.catalog_document(shop)["location"]["id"]
    assert twin.city_transit_days(loc, seeds.CITY) is not None
    if shop.kind == "manufacturer":
        assert {ln.id for ln in twin.lines} == {"press-1"}
        assert all(twin.lines_making(it.sku) for it in shop.items)


def test_the_factory_promises_from_its_press_when_stock_is_short() -> None:
    shop = seeds.MANUFACTURER
    twin = parse_twin(seeds.twin_document(shop))
    plan = Plan(twin, date(2026, 11, 25))  # a Wednesday; stock 0 in the file: the node supplies it
    p = plan.promise([("bottle-1l", 100)], seeds.CITY)
    (line,) = p.lines
    # 30 + 100 × 4 = 430 minutes: one working day, ship the next, 2 days to the city
    assert line.source is Source.PRODUCTION and line.ship_date == date(2026, 11, 26)
    assert p.delivery_date == date(2026, 11, 28)

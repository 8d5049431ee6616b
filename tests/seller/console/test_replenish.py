"""Ordering a replenishment suggestion from the Supply page: a production order when a line makes the
item, a purchase order (a receipt in the twin) when none does, a plain production order without a twin;
a form sent twice orders once; bad forms change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mercato.seller.console import replenishment
from mercato.seller.domain import InvalidInput
from mercato.seller.store import replenishment as store_replenishment
from mercato.seller.store import stock
from mercato.seller.store import supply as store_supply

from .conftest import Shop
from .test_pools_supply_pages import twin_doc


def sell_cups(shop: Shop, now: datetime) -> None:
    stock.receive(shop.node.store, "CUP", "shop-main", 40, now, "received")
    for day in range(1, 15):
        shop.order("CUP", 3, when=now - timedelta(days=day, hours=1))


def order_form(shop: Shop) -> dict[str, str]:
    """The first suggestion's order form, as the page renders it."""
    page = shop.client.get("/console/supply").text
    form = re.search(r'<form method="post" action="/console/supply/replenish".*?</form>', page, re.S)
    assert form, "no order form on the Supply page"
    return dict(re.findall(r'name="([a-z_]+)"[^>]*?value="([^"]*)"', form.group(0)))


def test_order_a_suggestion_without_a_twin_once(shop: Shop) -> None:
    now = datetime.now(UTC)
    sell_cups(shop, now)
    shop.login()
    form = order_form(shop)
    assert form["item_id"] == "CUP" and form["location_id"] == "shop-main" and form["ref"].startswith("RP-")
    suggested = int(form["quantity"])
    r = shop.client.post("/console/supply/replenish", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert shop.client.post("/console/supply/replenish", data=form, follow_redirects=False).status_code == 303
    [po] = store_supply.production_orders(shop.node.store)
    assert (po.id, po.item_id, po.quantity, po.source) == (form["ref"], "CUP", suggested, "replenishment")
    assert po.due_on == now.date() + timedelta(days=int(form["lead_days"]))
    # the order counts as on order: nothing more to suggest for the cups
    assert [s for s in replenishment.suggestions(shop.node.store, now) if s["item_id"] == "CUP"] == []


def test_order_a_suggestion_the_twin_buys_in(shop: Shop) -> None:
    now = datetime.now(UTC)
    store_supply.put_twin(shop.node.store, twin_doc(), now)  # CUP is in the twin; no line makes it
    sell_cups(shop, now)
    shop.login()
    form = {**order_form(shop), "quantity": "5"}  # less than suggested (over 12)
    assert shop.client.post("/console/supply/replenish", data=form, follow_redirects=False).status_code == 303
    assert shop.client.post("/console/supply/replenish", data=form, follow_redirects=False).status_code == 303
    twin = store_supply.twin_of(shop.node.store)
    assert twin is not None
    [rc] = [rc for rc in twin.receipts if rc.ref == form["ref"]]
    assert (rc.item, rc.location, rc.quantity) == ("CUP", "shop-main", 5)
    assert rc.date == now.date() + timedelta(days=int(form["lead_days"]))
    assert store_supply.production_orders(shop.node.store) == []
    [s] = [s for s in replenishment.suggestions(shop.node.store, now) if s["item_id"] == "CUP"]
    assert s["on_order"] == 5  # the purchase order counts
    # an item a line makes becomes a production order on that line
    done = store_replenishment.accept(shop.node.store, "RP-K", "KETTLE", "shop-main", 5, 2, now)
    assert done.kind == "production" and done.location_id == "shop-main"


def test_bad_order_forms_change_nothing(shop: Shop) -> None:
    now = datetime.now(UTC)
    sell_cups(shop, now)
    anonymous = shop.client.post("/console/supply/replenish", data={}, follow_redirects=False)
    assert anonymous.status_code in (303, 403)
    shop.login()
    form = order_form(shop)
    for field, bad in (("quantity", "0"), ("quantity", "lots"), ("lead_days", "-1"), ("lead_days", "999"),
                       ("item_id", ""), ("ref", "")):  # fmt: skip
        r = shop.client.post("/console/supply/replenish", data={**form, field: bad})
        assert r.status_code == 400 and "Not ordered" in r.text, (field, bad)
    r = shop.client.post("/console/supply/replenish", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403
    store_supply.put_twin(shop.node.store, twin_doc(), now)
    r = shop.client.post("/console/supply/replenish", data={**form, "item_id": "NOPE"})
    assert r.status_code == 400 and "no item" in r.text
    assert store_supply.production_orders(shop.node.store) == []
    twin = store_supply.twin_of(shop.node.store)
    assert twin is not None and twin.receipts == ()
    with pytest.raises(InvalidInput):
        store_replenishment.accept(shop.node.store, "x" * 65, "CUP", "shop-main", 1, 1, now)

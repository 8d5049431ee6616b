"""A seller node with a supply twin, end to end: on_select / on_init / on_confirm carry the twin's
delivery dates, confirm makes the production order, a line going down tells the buyer its new date
through an unsolicited on_update — every message valid against the Beckn 1.1 JSON Schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.protocol.test_schemas import schema_errors
from tests.seller.node.harness import Bap, Proc, Seller, checkout

Net = tuple[Proc, Seller, Bap]


def twin() -> dict[str, Any]:
    return {
        "calendars": [{"id": "default", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}],
        "locations": [{"id": "shop-main", "kind": "factory", "city": "std:080"}],
        "lanes": [{"from": "shop-main", "city": "std:080", "days": 2}],
        "items": [{"id": "RARE"}, {"id": "FLASK"}],
        "lines": [{"id": "press", "location": "shop-main", "capacity_per_day": 10,
                   "rates": [{"item": "RARE", "per_unit": 4, "setup": 2}]}],
    }  # fmt: skip


def valid(body: dict[str, Any]) -> dict[str, Any]:
    errors = schema_errors(body["context"]["action"], body)
    assert not errors, errors
    assert "error" not in body, body["error"]
    return body


def window(cb: dict[str, Any]) -> tuple[datetime, datetime]:
    rng = cb["message"]["order"]["fulfillments"][0]["stops"][0]["time"]["range"]
    return (datetime.fromisoformat(rng["start"].replace("Z", "+00:00")),
            datetime.fromisoformat(rng["end"].replace("Z", "+00:00")))  # fmt: skip


def test_bad_twin_is_refused(net: Net) -> None:
    _, seller, _ = net
    doc = twin()
    doc["lines"][0]["capacity_per_day"] = 0
    r = seller.admin("PUT", "/admin/supply/twin", json=doc)
    assert r.status_code == 422 and any("capacity > 0" in p for p in r.json()["detail"]["problems"])
    assert seller.admin("GET", "/admin/supply/twin").status_code == 404


def test_quotes_confirm_and_late_risk_from_the_twin(net: Net) -> None:
    _, seller, bap = net
    before = checkout(bap, seller, "FLASK", 1)[1]  # no twin yet: the simple rule
    r = seller.admin("PUT", "/admin/supply/twin", json=twin())
    assert r.status_code == 200, r.text
    today = datetime.now(UTC).date()
    # FLASK in stock: ships today, 2 days to the city
    txn, on_select, on_init, on_confirm = checkout(bap, seller, "FLASK", 1)
    for cb in (on_select, on_init, on_confirm):
        valid(cb)
        assert window(cb)[1].date() == today + timedelta(days=2)
    assert window(before)[1] != window(on_select)[1]
    # RARE: 2 in stock, 7 asked: all 7 are made (2 + 7 × 4 = 30 units of capacity: 3 days), then 2 days
    txn, on_select, on_init, on_confirm = checkout(bap, seller, "RARE", 7)
    for cb in (on_select, on_init, on_confirm):
        valid(cb)
    promised = window(on_confirm)[1].date()
    assert promised == window(on_select)[1].date() == today + timedelta(days=3 + 2)
    order_id = on_confirm["message"]["order"]["id"]
    pos = seller.admin("GET", "/admin/supply/production-orders?open=true").json()
    assert [(p["item_id"], p["quantity"], p["order_id"]) for p in pos] == [("RARE", 7, order_id)]
    assert (
        seller.admin("GET", f"/admin/supply/orders/{order_id}").json()["deliver_on"] == promised.isoformat()
    )
    # the press is down for 4 days: the order is late, the buyer hears the new date
    down = {"line": "press", "start": today.isoformat(), "end": (today + timedelta(days=3)).isoformat(),
            "reason": "die broken"}  # fmt: skip
    r = seller.admin("POST", "/admin/supply/downtime", json=down)
    assert r.status_code == 200, r.text
    (risk,) = r.json()
    assert risk["order_id"] == order_id
    new = date.fromisoformat(risk["new_delivery"])
    assert new > promised
    update = valid(bap.wait("on_update", transaction_id=txn))
    assert update["message"]["order"]["id"] == order_id
    assert window(update)[1].date() == new
    late = seller.admin("GET", "/admin/supply/late").json()
    assert [p["order_id"] for p in late] == [order_id]
    # production: start, complete → stock arrives through the ledger
    po_id = pos[0]["id"]
    assert seller.admin("POST", f"/admin/supply/production-orders/{po_id}/start").json()["state"] == "started"
    done = seller.admin("POST", f"/admin/supply/production-orders/{po_id}/complete")
    assert done.status_code == 200 and done.json()["state"] == "completed"
    ledger = seller.admin("GET", "/admin/stock/RARE/ledger").json()
    assert any(e["ref"] == po_id and e["on_hand_delta"] == 7 for e in ledger)
    bad = seller.admin("POST", f"/admin/supply/production-orders/{po_id}/complete")
    assert bad.status_code == 400 and "cannot complete" in bad.text
    assert seller.admin("POST", "/admin/supply/production-orders/nope/start").status_code == 404

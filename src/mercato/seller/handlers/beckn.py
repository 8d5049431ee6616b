"""Seller domain values to Beckn 1.1 JSON (plain dicts, serialised once with orjson).

Every shape here validates against the Beckn 1.1 JSON Schemas (tests/seller/handlers check each
callback the node emits). Money is a decimal string in major units; times are RFC 3339 UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mercato.protocol.messages import format_timestamp
from mercato.seller.domain import Catalog, FulfillmentType, Item, Money, Order, OrderState, Quote
from mercato.seller.domain.orders import FulfillmentState, PaymentType

QUOTE_TTL = "PT15M"
ORDER_STATUS = {
    OrderState.CREATED: "ACTIVE",
    OrderState.ACCEPTED: "ACTIVE",
    OrderState.IN_PROGRESS: "ACTIVE",
    OrderState.COMPLETED: "COMPLETED",
    OrderState.CANCELLED: "CANCELLED",
}


def price(m: Money) -> dict[str, str]:
    return {"currency": m.currency, "value": m.to_decimal()}


def tag(code: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "descriptor": {"code": code},
        "list": [{"descriptor": {"code": k}, "value": v} for k, v in values.items()],
    }


def duration(td: timedelta) -> str:
    s = int(td.total_seconds())
    return f"PT{s // 3600}H" if s % 3600 == 0 else f"PT{s}S"


def item_json(item: Item, available: int | None = None) -> dict[str, Any]:
    d = item.descriptor
    desc: dict[str, Any] = {"name": d.name}
    if d.short_desc:
        desc["short_desc"] = d.short_desc
    if d.long_desc:
        desc["long_desc"] = d.long_desc
    if d.code:
        desc["code"] = d.code
    if d.images:
        desc["images"] = [{"url": u} for u in d.images]
    out: dict[str, Any] = {
        "id": item.id,
        "descriptor": desc,
        "price": price(item.price),
        "location_ids": list(item.location_ids) or None,
        "fulfillment_ids": sorted(f.value for f in item.fulfillment_types),
        "tags": [
            tag(
                "terms",
                {
                    "returnable": str(item.returnable).lower(),
                    "return_window": duration(item.return_window),
                    "cancellable": str(item.cancellable).lower(),
                    "time_to_ship": duration(item.time_to_ship),
                    "tax_rate_bp": str(item.tax_rate_bp),
                },
            ),
        ],
    }
    if out["location_ids"] is None:
        del out["location_ids"]
    qty: dict[str, Any] = {"maximum": {"count": item.max_quantity}}
    if available is not None:
        qty["available"] = {"count": max(0, available)}
    out["quantity"] = qty
    if item.category_id:
        out["category_ids"] = [item.category_id]
    if item.parent_item_id:
        out["parent_item_id"] = item.parent_item_id
    if item.options:
        out["tags"].append(tag("options", {o.name: o.value for o in item.options}))
    if item.price_breaks:
        out["tags"].append(
            tag(
                "price_breaks", {str(pb.min_quantity): pb.unit_price.to_decimal() for pb in item.price_breaks}
            )
        )
    return out


def provider_json(catalog: Catalog, provider_id: str) -> dict[str, Any]:
    p = catalog.provider(provider_id)
    return {"id": p.id, "descriptor": {"name": p.descriptor.name}}


def location_json(catalog: Catalog, location_id: str) -> dict[str, Any]:
    loc = catalog.location(location_id)
    a = loc.address
    out: dict[str, Any] = {
        "id": loc.id,
        "gps": str(loc.gps),
        "address": ", ".join(x for x in (a.building, a.street, a.locality) if x),
        "city": {"code": a.city},
        "area_code": a.area_code,
        "country": {"code": a.country},
    }
    if a.state:
        out["state"] = {"name": a.state}
    if loc.radius_m:
        out["circle"] = {
            "gps": str(loc.gps),
            "radius": {"type": "CONSTANT", "value": str(loc.radius_m), "unit": "m"},
        }
    return out


def quote_json(q: Quote) -> dict[str, Any]:
    rows = []
    for title, item_id, amount in q.breakup():
        row: dict[str, Any] = {"title": title, "price": price(amount)}
        if item_id is not None:
            ln = q.line(item_id)
            row["item"] = {
                "id": item_id,
                "quantity": {"selected": {"count": ln.quantity}},
                "price": price(ln.unit_price),
            }
        rows.append(row)
    return {"price": price(q.total), "breakup": rows, "ttl": QUOTE_TTL}


def fulfillment_json(
    fid: str,
    ftype: FulfillmentType,
    state: FulfillmentState | None = None,
    end: Mapping[str, Any] | None = None,
    estimate: tuple[datetime, datetime] | None = None,
    customer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": fid, "type": ftype.value, "tracking": ftype is FulfillmentType.DELIVERY}
    if state is not None:
        out["state"] = {"descriptor": {"code": state.value}}
    stop: dict[str, Any] = {"type": "end"}
    if end:
        for k in ("location", "contact", "person", "instructions"):
            if k in end:
                stop[k] = end[k]
    if estimate is not None:
        stop["time"] = {
            "range": {"start": format_timestamp(estimate[0]), "end": format_timestamp(estimate[1])}
        }
    if len(stop) > 1:
        out["stops"] = [stop]
    if customer:
        out["customer"] = dict(customer)
    return out


def payment_json(order_total: Money, ptype: PaymentType, paid: bool, collected_by: str) -> dict[str, Any]:
    return {
        "type": ptype.value,
        "status": "PAID" if paid else "NOT-PAID",
        "collected_by": collected_by,
        "params": {"amount": order_total.to_decimal(), "currency": order_total.currency},
    }


def order_json(order: Order, details: Mapping[str, Any], catalog: Catalog | None = None) -> dict[str, Any]:
    """A confirmed order as Beckn ``Order`` (on_confirm, on_status, on_cancel, on_update)."""
    q = order.quote
    items = []
    for ln in order.lines:
        it: dict[str, Any] = {
            "id": ln.item_id,
            "fulfillment_ids": [order.fulfillment_id],
            "quantity": {"selected": {"count": ln.quantity}},
        }
        if ln.allocations:
            it["location_ids"] = sorted({a.location_id for a in ln.allocations})
        if catalog is not None and ln.item_id in catalog.items:
            it["descriptor"] = {"name": catalog.items[ln.item_id].descriptor.name}
        items.append(it)
    provider: dict[str, Any] = {"id": order.provider_id}
    if catalog is not None and order.provider_id in catalog.providers:
        provider = provider_json(catalog, order.provider_id)
    paid = order.paid.amount >= q.total.amount and q.total.amount > 0
    out: dict[str, Any] = {
        "id": order.id,
        "status": ORDER_STATUS[order.state],
        "provider": provider,
        "items": items,
        "fulfillments": [
            fulfillment_json(
                order.fulfillment_id,
                order.fulfillment_type,
                order.fulfillment_state,
                details.get("end"),
                None,
                details.get("customer"),
            )
        ],
        "quote": quote_json(q),
        "payments": [
            payment_json(q.total, order.payment_type, paid, str(details.get("collected_by", "BPP")))
        ],
        "created_at": format_timestamp(order.created_at),
        "updated_at": format_timestamp(order.history[-1].at if order.history else order.created_at),
        "tags": [
            tag(
                "mercato.order",
                {
                    "state": order.state.value,
                    "fulfillment_state": order.fulfillment_state.value,
                    "paid": order.paid.to_decimal(),
                    "refunded": order.refunded.to_decimal(),
                },
            )
        ],
    }
    if details.get("billing"):
        out["billing"] = dict(details["billing"])
    return out

"""Domain values to table rows and back: catalog objects, quotes (stored as JSON), orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mercato.seller.domain import (
    Address,
    Allocation,
    Category,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    Item,
    Location,
    Money,
    Offer,
    Option,
    PriceBreak,
    Provider,
    Quote,
    QuoteLine,
)
from mercato.seller.domain.orders import (
    Action,
    FulfillmentState,
    Order,
    OrderLine,
    OrderState,
    PaymentType,
    StateChange,
)

from .tables import (
    AllocationRow,
    CategoryRow,
    FulfillmentEventRow,
    ItemRow,
    LocationRow,
    OrderLineRow,
    OrderRow,
    ProviderRow,
)

# -- catalog ---------------------------------------------------------------------------------------


def descriptor_json(d: Descriptor) -> dict[str, Any]:
    return {"name": d.name, "short_desc": d.short_desc, "long_desc": d.long_desc, "code": d.code,
            "images": list(d.images)}  # fmt: skip


def descriptor_of(data: dict[str, Any]) -> Descriptor:
    return Descriptor(data["name"], data.get("short_desc", ""), data.get("long_desc", ""),
                      data.get("code", ""), tuple(data.get("images", ())))  # fmt: skip


def provider_of(row: ProviderRow) -> Provider:
    return Provider(row.id, descriptor_of(row.descriptor), row.currency)


def location_of(row: LocationRow) -> Location:
    a = row.address
    address = Address(a["street"], a["city"], a["area_code"], a.get("state", ""), a.get("country", "IND"),
                      a.get("locality", ""), a.get("building", ""))  # fmt: skip
    return Location(row.id, row.provider_id, address, GeoPoint.parse(row.gps), frozenset(row.cities),
                    row.radius_m, row.pickup)  # fmt: skip


def address_json(a: Address) -> dict[str, Any]:
    return {"street": a.street, "city": a.city, "area_code": a.area_code, "state": a.state,
            "country": a.country, "locality": a.locality, "building": a.building}  # fmt: skip


def category_of(row: CategoryRow) -> Category:
    return Category(row.id, row.name, row.parent_id)


def item_of(row: ItemRow) -> Item:
    cur = row.currency
    return Item(
        id=row.id,
        provider_id=row.provider_id,
        descriptor=descriptor_of(row.descriptor),
        price=Money(row.price, cur),
        category_id=row.category_id,
        parent_item_id=row.parent_item_id,
        options=tuple(Option(n, v) for n, v in row.options),
        price_breaks=tuple(PriceBreak(q, Money(p, cur)) for q, p in row.price_breaks),
        tax_rate_bp=row.tax_rate_bp,
        returnable=row.returnable,
        return_window=timedelta(seconds=row.return_window_s),
        cancellable=row.cancellable,
        time_to_ship=timedelta(seconds=row.time_to_ship_s),
        fulfillment_types=frozenset(FulfillmentType(f) for f in row.fulfillment_types),
        max_quantity=row.max_quantity,
        location_ids=tuple(row.location_ids),
    )


def item_values(item: Item) -> dict[str, Any]:
    return {
        "provider_id": item.provider_id,
        "parent_item_id": item.parent_item_id,
        "category_id": item.category_id,
        "descriptor": descriptor_json(item.descriptor),
        "price": item.price.amount,
        "currency": item.price.currency,
        "options": [[o.name, o.value] for o in item.options],
        "price_breaks": [[pb.min_quantity, pb.unit_price.amount] for pb in item.price_breaks],
        "tax_rate_bp": item.tax_rate_bp,
        "returnable": item.returnable,
        "return_window_s": int(item.return_window.total_seconds()),
        "cancellable": item.cancellable,
        "time_to_ship_s": int(item.time_to_ship.total_seconds()),
        "fulfillment_types": sorted(f.value for f in item.fulfillment_types),
        "max_quantity": item.max_quantity,
        "location_ids": list(item.location_ids),
    }


# -- quotes ----------------------------------------------------------------------------------------


def _m(m: Money | None) -> int | None:
    return None if m is None else m.amount


def quote_json(q: Quote) -> dict[str, Any]:
    return {
        "provider_id": q.provider_id,
        "currency": q.currency,
        "fulfillment_type": q.fulfillment_type.value,
        "lines": [
            {
                "item_id": ln.item_id,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price.amount,
                "amount": ln.amount.amount,
                "discount": ln.discount.amount,
                "tax_rate_bp": ln.tax_rate_bp,
                "tax": ln.tax.amount,
                "available_quantity": ln.available_quantity,
            }  # fmt: skip
            for ln in q.lines
        ],
        "offers": [
            {
                "code": o.code,
                "percent_bp": o.percent_bp,
                "amount": _m(o.amount),
                "min_subtotal": _m(o.min_subtotal),
            }  # fmt: skip
            for o in q.offers
        ],
        "delivery": q.delivery.amount,
        "delivery_tax_rate_bp": q.delivery_tax_rate_bp,
        "delivery_tax": q.delivery_tax.amount,
        "total": q.total.amount,
        "location_ids": list(q.location_ids),
    }


def quote_of(d: dict[str, Any]) -> Quote:
    cur = d["currency"]

    def m(v: int | None) -> Money | None:
        return None if v is None else Money(v, cur)

    lines = tuple(
        QuoteLine(
            ln["item_id"],
            ln["quantity"],
            Money(ln["unit_price"], cur),
            Money(ln["amount"], cur),
            Money(ln["discount"], cur),
            ln["tax_rate_bp"],
            Money(ln["tax"], cur),
            ln["available_quantity"],
        )  # fmt: skip
        for ln in d["lines"]
    )
    offers = tuple(
        Offer(o["code"], o["percent_bp"], m(o["amount"]), m(o["min_subtotal"])) for o in d["offers"]
    )
    return Quote(d["provider_id"], cur, FulfillmentType(d["fulfillment_type"]), lines, offers,
                 Money(d["delivery"], cur), d["delivery_tax_rate_bp"], Money(d["delivery_tax"], cur),
                 Money(d["total"], cur), tuple(d["location_ids"]))  # fmt: skip


# -- orders ----------------------------------------------------------------------------------------


def order_of(
    row: OrderRow,
    lines: list[OrderLineRow],
    allocations: list[AllocationRow],
    events: list[FulfillmentEventRow],
) -> Order:
    cur = row.currency
    by_item: dict[str, list[Allocation]] = {}
    for a in sorted(allocations, key=lambda a: (a.item_id, a.location_id)):
        by_item.setdefault(a.item_id, []).append(Allocation(a.location_id, a.quantity))
    order_lines = [
        OrderLine(ln.item_id, ln.quantity, tuple(by_item.get(ln.item_id, ())), ln.cancelled)
        for ln in sorted(lines, key=lambda ln: ln.position)
    ]
    history = [
        StateChange(
            e.at,
            Action(e.action),
            (OrderState(e.from_state), FulfillmentState(e.from_fulfillment_state)),
            (OrderState(e.to_state), FulfillmentState(e.to_fulfillment_state)),
            e.by,
            e.note,
        )  # fmt: skip
        for e in sorted(events, key=lambda e: e.id)
    ]
    return Order(
        id=row.id,
        provider_id=row.provider_id,
        fulfillment_id=row.fulfillment_id,
        fulfillment_type=FulfillmentType(row.fulfillment_type),
        payment_type=PaymentType(row.payment_type),
        quote=quote_of(row.quote),
        original_quote=quote_of(row.original_quote),
        lines=order_lines,
        created_at=row.created_at,
        paid=Money(row.paid, cur),
        refunded=Money(row.refunded, cur),
        state=OrderState(row.state),
        fulfillment_state=FulfillmentState(row.fulfillment_state),
        delivered_at=row.delivered_at,
        buyer_id=row.buyer_id,
        history=history,
    )


def event_row(order_id: str, change: StateChange) -> FulfillmentEventRow:
    return FulfillmentEventRow(
        order_id=order_id, at=change.at, action=change.action.value, from_state=change.before[0].value,
        from_fulfillment_state=change.before[1].value, to_state=change.after[0].value,
        to_fulfillment_state=change.after[1].value, by=change.by, note=change.note,
    )  # fmt: skip

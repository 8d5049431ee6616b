"""Beckn request messages to the seller's domain requests (basket, destination, payment, details).

Anything the models accept but the seller cannot use raises ``ProtocolError`` with the field's path,
which the dispatcher answers with a NACK before any work is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.models import Context
from mercato.protocol.models import Order as BecknOrder
from mercato.seller.domain import DomainError, FulfillmentType, GeoPoint, LineRequest
from mercato.seller.domain.orders import PaymentType
from mercato.seller.store.checkout import Basket


def bad(message: str, path: str, code: Code = Code.INVALID_REQUEST) -> ProtocolError:
    return ProtocolError(code, message, path=path)


def dump(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True)
    return out


@dataclass(frozen=True)
class Draft:
    """What select / init / confirm carry: the basket and, from init on, billing and delivery details."""

    basket: Basket
    payment_type: PaymentType
    details: dict[str, Any]


def draft(order: BecknOrder | None, ctx: Context) -> Draft:
    if order is None:
        raise bad("message.order is required", "message.order")
    if order.provider is None or not order.provider.id:
        raise bad("message.order.provider.id is required", "message.order.provider.id")
    if not order.items:
        raise bad("message.order.items must name at least one item", "message.order.items")
    lines = []
    for i, item in enumerate(order.items):
        path = f"message.order.items[{i}]"
        if not item.id:
            raise bad("item id is required", f"{path}.id")
        sel = item.quantity.selected if item.quantity is not None else None
        if sel is None or sel.count is None:
            raise bad("quantity.selected.count is required", f"{path}.quantity.selected.count")
        lines.append(LineRequest(item.id, int(sel.count)))
    ftype = FulfillmentType.DELIVERY
    city: str | None = ctx.location.city.code if ctx.location.city.code not in ("*", "") else None
    point: GeoPoint | None = None
    details: dict[str, Any] = {}
    if order.fulfillments:
        f = order.fulfillments[0]
        if f.type:
            try:
                ftype = FulfillmentType(f.type)
            except ValueError:
                raise bad(
                    f"fulfillment type must be Delivery or Self-Pickup, got {f.type!r}",
                    "message.order.fulfillments[0].type",
                    Code.FULFILLMENT_UNAVAILABLE,
                ) from None
        for stop in f.stops or []:
            if stop.type not in (None, "end"):
                continue
            loc = stop.location
            if loc is not None:
                if loc.city is not None and loc.city.code:
                    city = loc.city.code
                if loc.gps:
                    try:
                        point = GeoPoint.parse(str(loc.gps))
                    except DomainError as exc:
                        raise bad(
                            exc.message, "message.order.fulfillments[0].stops[0].location.gps"
                        ) from None
            details["end"] = {
                k: v for k, v in dump(stop).items() if k in ("location", "contact", "person", "instructions")
            }
        if f.customer is not None:
            details["customer"] = dump(f.customer)
    if order.billing is not None:
        details["billing"] = dump(order.billing)
    ptype = PaymentType.ON_ORDER
    collected_by = "BAP"
    if order.payments:
        p = order.payments[0]
        if p.type is not None:
            try:
                ptype = PaymentType(p.type)
            except ValueError:
                raise bad(
                    f"payment type {p.type!r} is not supported (ON-ORDER, ON-FULFILLMENT, POST-FULFILLMENT)",
                    "message.order.payments[0].type",
                    Code.PAYMENT_NOT_SUPPORTED,
                ) from None
        collected_by = p.collected_by or ("BAP" if ptype is PaymentType.ON_ORDER else "BPP")
        if collected_by not in ("BAP", "BPP"):
            raise bad("payments[0].collected_by must be BAP or BPP", "message.order.payments[0].collected_by")
    elif ptype is not PaymentType.ON_ORDER:
        collected_by = "BPP"
    details["payment_type"] = ptype.value
    details["collected_by"] = collected_by
    basket = Basket(order.provider.id, lines, ftype, city, point)
    return Draft(basket, ptype, details)

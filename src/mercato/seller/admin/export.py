"""Orders out of the node: a CSV export and the (customer_id, timestamp, amount) frame for retention."""

from __future__ import annotations

import csv
import io

import polars as pl
from sqlalchemy import select

from mercato.seller.domain import OrderState
from mercato.seller.store import Store
from mercato.seller.store.tables import OrderLineRow, OrderRow

CSV_COLUMNS = (
    "order_id",
    "created_at",
    "state",
    "fulfillment_state",
    "provider_id",
    "bap_id",
    "transaction_id",
    "buyer_id",
    "payment_type",
    "currency",
    "total",
    "paid",
    "refunded",
    "items",
)


def orders_csv(store: Store) -> str:
    """Every order, oldest first; money in minor units; items as ``item:qty`` joined by ``;``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    with store.read() as s:
        lines: dict[str, list[str]] = {}
        for ln in s.scalars(select(OrderLineRow).order_by(OrderLineRow.order_id, OrderLineRow.position)):
            lines.setdefault(ln.order_id, []).append(f"{ln.item_id}:{ln.quantity}")
        for o in s.scalars(select(OrderRow).order_by(OrderRow.created_at, OrderRow.id)):
            w.writerow(
                [
                    o.id,
                    o.created_at.isoformat(),
                    o.state,
                    o.fulfillment_state,
                    o.provider_id,
                    o.bap_id,
                    o.transaction_id,
                    o.buyer_id or "",
                    o.payment_type,
                    o.currency,
                    o.total,
                    o.paid,
                    o.refunded,
                    ";".join(lines.get(o.id, [])),
                ]
            )
    return out.getvalue()


def orders_frame(store: Store) -> pl.DataFrame:
    """Orders that were not cancelled as (customer_id, timestamp UTC, amount in minor units)."""
    with store.read() as s:
        rows = s.execute(
            select(OrderRow.buyer_id, OrderRow.bap_id, OrderRow.created_at, OrderRow.total).where(
                OrderRow.state != OrderState.CANCELLED.value
            )
        ).all()
    return pl.DataFrame(
        {
            "customer_id": [b or f"{bap}" for b, bap, _, _ in rows],
            "timestamp": [t for _, _, t, _ in rows],
            "amount": [int(a) for _, _, _, a in rows],
        },
        schema={"customer_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "amount": pl.Int64},
    )

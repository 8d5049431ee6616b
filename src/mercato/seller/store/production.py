"""Production orders as the supply plan reads them: ``seller_production_orders`` (created by the pools'
store module; migration s0003 added the scheduling columns) as a plain table, and a read-only view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, String, column, select, table
from sqlalchemy.orm import Session

from mercato.db import UTCDateTime
from mercato.seller.domain import UnknownEntity

OPEN = ("planned", "started")

# seller_production_orders belongs to the pools' store module; scheduling reads and writes it as a
# plain table (its own columns plus the ones migration s0003 added).
PO = table(
    "seller_production_orders",
    column("id", String),
    column("item_id", String),
    column("quantity", BigInteger),
    column("unit_price", BigInteger),
    column("currency", String),
    column("production_start", UTCDateTime()),
    column("delivery_start", UTCDateTime()),
    column("delivery_end", UTCDateTime()),
    column("source", String),
    column("state", String),
    column("created_at", UTCDateTime()),
    column("line_id", String),
    column("location_id", String),
    column("order_id", String),
    column("release_on", Date),
    column("due_on", Date),
    column("expected_on", Date),
    column("late", Boolean),
    column("started_at", UTCDateTime()),
    column("completed_at", UTCDateTime()),
)


@dataclass(frozen=True)
class ProductionOrderView:
    id: str
    item_id: str
    quantity: int
    source: str
    state: str
    line_id: str | None
    location_id: str | None
    order_id: str | None
    release_on: date | None
    due_on: date | None
    expected_on: date | None
    late: bool
    started_at: datetime | None
    completed_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = v.isoformat() if isinstance(v, (date, datetime)) else v
        return out


def _views(s: Session, where: Any = None, stmt: Any = None) -> list[ProductionOrderView]:
    if stmt is None:
        stmt = select(PO).order_by(PO.c.created_at, PO.c.id)
        if where is not None:
            stmt = stmt.where(where)
    return [
        ProductionOrderView(
            r.id,
            r.item_id,
            r.quantity,
            r.source,
            r.state,
            r.line_id,
            r.location_id,
            r.order_id,
            r.release_on,
            r.due_on,
            r.expected_on,
            bool(r.late),
            r.started_at,
            r.completed_at,
        )
        for r in s.connection().execute(stmt)
    ]


def _get_po(s: Session, po_id: str) -> ProductionOrderView:
    found = _views(s, PO.c.id == po_id)
    if not found:
        raise UnknownEntity("production order", po_id)
    return found[0]

"""Replenishment suggestions for the Supply page: for each item and location that sold in the last
four weeks, daily demand (mean and spread over the days, the days without sales included), the
inventory position (available + open production), the lead time (the twin's, else a default), and
``mercato.supply.replenish.suggest`` with a base-stock policy at the chosen service level. Accepting
one (``mercato.seller.store.replenishment.accept``) orders it: a production or a purchase order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from mercato.seller.domain import OrderState
from mercato.seller.store import Store
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import stock as store_stock
from mercato.seller.store import supply as store_supply
from mercato.seller.store.tables import AllocationRow, OrderRow
from mercato.supply.replenish import suggest

WINDOW_DAYS = 28
DEFAULT_LEAD_DAYS = 7
SERVICE_LEVEL = 0.95


def daily_sales(store: Store, now: datetime, days: int = WINDOW_DAYS) -> dict[tuple[str, str], np.ndarray]:
    """(item, location) -> units sold on each of the last ``days`` days (orders not cancelled)."""
    start = (now - timedelta(days=days)).astimezone(UTC)
    with store.read() as s:
        rows = s.execute(
            select(
                AllocationRow.item_id, AllocationRow.location_id, AllocationRow.quantity, OrderRow.created_at
            )
            .join(OrderRow, OrderRow.id == AllocationRow.order_id)
            .where(OrderRow.created_at >= start, OrderRow.state != OrderState.CANCELLED.value)
        ).all()
    out: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(days))
    for item, loc, qty, at in rows:
        day = min(days - 1, max(0, int((at - start).total_seconds() // 86_400)))
        out[(item, loc)][day] += qty
    return dict(out)


def suggestions(
    store: Store, now: datetime | None = None, service_level: float = SERVICE_LEVEL
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    sales = daily_sales(store, now)
    if not sales:
        return []
    names = {i.id: i.descriptor.name for i in store_catalog.load_all(store).items.values()}
    levels = store_stock.levels(store, sorted({i for i, _ in sales}))
    twin = store_supply.twin_of(store)
    lead = {x.id: x.lead_time_days for x in twin.items} if twin is not None else {}
    on_order: dict[str, int] = defaultdict(int)
    for po in store_supply.production_orders(store, True):
        on_order[po.item_id] += po.quantity
    purchased: dict[tuple[str, str], int] = defaultdict(int)  # purchase orders: receipts still to come
    for rc in twin.receipts if twin is not None else ():
        if rc.date >= now.astimezone(UTC).date():
            purchased[(rc.item, rc.location)] += rc.quantity
    out: list[dict[str, Any]] = []
    for (item, loc), series in sorted(sales.items()):
        if item not in names:  # off sale: nothing to replenish
            continue
        lv = levels.get((item, loc))
        available = (lv.on_hand - lv.reserved) if lv is not None else 0
        lead_days = lead.get(item) or DEFAULT_LEAD_DAYS
        s = suggest(
            item,
            loc,
            on_hand=float(available),
            on_order=float(on_order.get(item, 0) + purchased.get((item, loc), 0)),
            daily_mean=float(series.mean()),
            daily_sd=float(series.std(ddof=1)) if len(series) > 1 else 0.0,
            lead_time_days=int(lead_days),
            service_level=service_level,
        )
        if s is not None:
            out.append(
                {
                    "item_id": item,
                    "name": names[item],
                    "location_id": loc,
                    "available": available,
                    "on_order": on_order.get(item, 0) + purchased.get((item, loc), 0),
                    "daily_mean": float(series.mean()),
                    "lead_time_days": int(lead_days),
                    "lead_from_twin": item in lead and bool(lead[item]),
                    "order_quantity": s.order_quantity,
                    "order_up_to": s.order_up_to,
                    "reason": s.reason,
                }
            )
    out.sort(key=lambda r: (-r["order_quantity"], r["item_id"]))
    return out

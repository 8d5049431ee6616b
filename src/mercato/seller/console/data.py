"""What the console's pages show, read from the node's store: the dashboard's figures, the catalog with
its stock, the orders board. Plain data out (dataclasses, dicts), so the pages and the tests share it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from mercato.seller.domain import Action, FulfillmentState, FulfillmentType, OrderState
from mercato.seller.domain.orders import TRANSITIONS, allowed_actions
from mercato.seller.store import Store
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import stock as store_stock
from mercato.seller.store.tables import ItemRow, OrderLineRow, OrderRow

LOW_STOCK = 5  # units available at a location at or below which the dashboard warns
SHIPPED = ("Order-picked-up", "Out-for-delivery", "Order-delivered", "RTO-Initiated", "RTO-Delivered",
           "RTO-Disposed")  # fmt: skip
# the moves offered as buttons, in the order a parcel goes (console name, label, domain action);
# "ship" is the courier (or the seller's own rider) picking the parcel up
BUTTONS = (
    ("accept", "Accept", Action.ACCEPT),
    ("pack", "Mark packed", Action.PACK),
    ("assign-agent", "Agent assigned", Action.ASSIGN_AGENT),
    ("ship", "Ship (picked up)", Action.PICK_UP),
    ("out-for-delivery", "Out for delivery", Action.OUT_FOR_DELIVERY),
    ("deliver", "Mark delivered", Action.DELIVER),
    ("collect", "Collected by buyer", Action.COLLECT),
    ("rto-deliver", "Returned to us", Action.RTO_DELIVER),
    ("rto-dispose", "Write off return", Action.RTO_DISPOSE),
)
BOARD_COLUMNS = (
    ("new", "New"),
    ("accepted", "Accepted"),
    ("packed", "Packed"),
    ("shipping", "On the way"),
    ("delivered", "Delivered"),
    ("cancelled", "Cancelled / returned"),
)


@dataclass(frozen=True)
class LateRisk:
    order_id: str
    created_at: datetime
    ship_by: datetime
    state: str
    fulfillment_state: str
    late: bool  # past the ship-by time already (else: less than a quarter of the window left)


@dataclass
class Dashboard:
    day: str
    orders_today: int
    revenue_today: dict[str, int]  # currency -> minor units (orders not cancelled)
    open_by_state: dict[str, int]
    low_stock: list[dict[str, Any]]
    late_risk: list[LateRisk]
    recent: list[dict[str, Any]] = field(default_factory=list)


def orders_version(store: Store) -> str:
    """Changes whenever an order is placed or changes state (count and the latest change)."""
    with store.read() as s:
        n, newest, updated = s.execute(
            select(func.count(), func.max(OrderRow.created_at), func.max(OrderRow.updated_at))
        ).one()
    return f"{int(n or 0)}|{newest}|{updated}"


def column_of(state: str, fulfillment_state: str) -> str:
    """The board column an order sits in."""
    if state == OrderState.CANCELLED.value or fulfillment_state.startswith("RTO"):
        return "cancelled"
    if state == OrderState.COMPLETED.value or fulfillment_state == "Order-delivered":
        return "delivered"
    if fulfillment_state == "Packed":
        return "packed"
    if fulfillment_state in ("Agent-assigned", "Order-picked-up", "Out-for-delivery"):
        return "shipping"
    return "new" if state == OrderState.CREATED.value else "accepted"


def actions_for(state: str, fulfillment_state: str, fulfillment_type: str) -> list[tuple[str, str]]:
    """The (console action, label) buttons an order's status allows, in the order a parcel goes."""
    try:
        status = (OrderState(state), FulfillmentState(fulfillment_state))
        ftype = FulfillmentType(fulfillment_type)
    except ValueError:
        return []
    if status not in TRANSITIONS:
        return []
    allowed = set(allowed_actions(status, ftype))
    return [(name, label) for name, label, a in BUTTONS if a in allowed]


def ship_by_times(store: Store, order_ids: list[str]) -> dict[str, timedelta]:
    """Per order, the longest time-to-ship among its items (the order must be handed over by then)."""
    if not order_ids:
        return {}
    with store.read() as s:
        rows = s.execute(
            select(OrderLineRow.order_id, func.max(ItemRow.time_to_ship_s))
            .join(ItemRow, ItemRow.id == OrderLineRow.item_id)
            .where(OrderLineRow.order_id.in_(order_ids))
            .group_by(OrderLineRow.order_id)
        ).all()
    return {oid: timedelta(seconds=int(t or 0)) for oid, t in rows}


def late_risk(store: Store, now: datetime, limit: int = 20) -> list[LateRisk]:
    """Open orders not handed over yet that are past, or within the last quarter of, their ship-by time
    (created + the longest time-to-ship of their items), most urgent first."""
    with store.read() as s:
        rows = s.execute(
            select(OrderRow.id, OrderRow.created_at, OrderRow.state, OrderRow.fulfillment_state)
            .where(
                OrderRow.state.in_(
                    [OrderState.CREATED.value, OrderState.ACCEPTED.value, OrderState.IN_PROGRESS.value]
                )
            )  # fmt: skip
            .where(OrderRow.fulfillment_state.not_in(SHIPPED))
            .order_by(OrderRow.created_at)
            .limit(2000)
        ).all()
    windows = ship_by_times(store, [r[0] for r in rows])
    out = []
    for oid, created, state, fstate in rows:
        window = windows.get(oid, timedelta(hours=24))
        ship_by = created + window
        if now >= ship_by - window / 4:
            out.append(LateRisk(oid, created, ship_by, state, fstate, now > ship_by))
    out.sort(key=lambda r: r.ship_by)
    return out[:limit]


def low_stock(store: Store, threshold: int = LOW_STOCK) -> list[dict[str, Any]]:
    cat = store_catalog.load_all(store)
    out = []
    for (item_id, loc), lv in sorted(store_stock.levels(store).items()):
        item = cat.items.get(item_id)
        if item is None or lv.backorder:
            continue
        if lv.on_hand - lv.reserved <= threshold:
            out.append(
                {
                    "item_id": item_id,
                    "name": item.descriptor.name,
                    "location_id": loc,
                    "on_hand": lv.on_hand,
                    "reserved": lv.reserved,
                    "available": lv.on_hand - lv.reserved,
                }
            )
    out.sort(key=lambda r: (r["available"], r["item_id"]))
    return out


def order_rows(store: Store, *, limit: int = 200, since: datetime | None = None) -> list[dict[str, Any]]:
    """Orders newest first, as the board and the dashboard list them (one query for the lines)."""
    with store.read() as s:
        q = select(OrderRow).order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        if since is not None:
            q = q.where(OrderRow.created_at >= since)
        orders = list(s.scalars(q))
        ids = [o.id for o in orders]
        lines: dict[str, list[str]] = defaultdict(list)
        if ids:
            q2 = (
                select(OrderLineRow.order_id, OrderLineRow.item_id, OrderLineRow.quantity, ItemRow.descriptor)
                .join(ItemRow, ItemRow.id == OrderLineRow.item_id, isouter=True)
                .where(OrderLineRow.order_id.in_(ids))
                .order_by(OrderLineRow.order_id, OrderLineRow.position)
            )
            for oid, item_id, qty, desc in s.execute(q2):
                name = (desc or {}).get("name") or item_id
                lines[oid].append(f"{qty} × {name}")
        return [
            {
                "id": o.id,
                "created_at": o.created_at,
                "state": o.state,
                "fulfillment_state": o.fulfillment_state,
                "column": column_of(o.state, o.fulfillment_state),
                "actions": actions_for(o.state, o.fulfillment_state, o.fulfillment_type),
                "currency": o.currency,
                "total": o.total,
                "buyer": (o.details or {}).get("billing", {}).get("name") or o.buyer_id or o.bap_id,
                "lines": lines.get(o.id, []),
            }
            for o in orders
        ]


def board(store: Store, limit: int = 300) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The orders board: (column key, title, orders) in the order an order moves through them."""
    rows = order_rows(store, limit=limit)
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["column"]].append(r)
    return [(key, title, by.get(key, [])) for key, title in BOARD_COLUMNS]


def dashboard(store: Store, now: datetime | None = None, threshold: int = LOW_STOCK) -> Dashboard:
    now = now or datetime.now(UTC)
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with store.read() as s:
        today = s.execute(
            select(OrderRow.currency, OrderRow.state, func.count(), func.sum(OrderRow.total))
            .where(OrderRow.created_at >= start)
            .group_by(OrderRow.currency, OrderRow.state)
        ).all()
        open_states = s.execute(
            select(OrderRow.state, func.count())
            .where(OrderRow.state.not_in([OrderState.CANCELLED.value, OrderState.COMPLETED.value]))
            .group_by(OrderRow.state)
        ).all()
    revenue: dict[str, int] = {}
    for cur, state, _, total in today:
        if state != OrderState.CANCELLED.value:
            revenue[cur] = revenue.get(cur, 0) + int(total or 0)
    return Dashboard(
        day=start.date().isoformat(),
        orders_today=sum(int(n) for _, _, n, _ in today),
        revenue_today=revenue,
        open_by_state={st: int(n) for st, n in open_states},
        low_stock=low_stock(store, threshold),
        late_risk=late_risk(store, now),
        recent=order_rows(store, limit=10),
    )


def catalog_rows(store: Store) -> list[dict[str, Any]]:
    """Every item (active first) with its price and stock per location."""
    cat = store_catalog.load_all(store, active_only=False)
    active = set(store_catalog.load_all(store).items)
    levels = store_stock.levels(store)
    stock: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (item_id, loc), lv in sorted(levels.items()):
        stock[item_id].append(
            {
                "location_id": loc,
                "on_hand": lv.on_hand,
                "reserved": lv.reserved,
                "available": lv.on_hand - lv.reserved,
                "backorder": lv.backorder,
            }  # fmt: skip
        )
    rows = [
        {
            "id": i.id,
            "name": i.descriptor.name,
            "price": i.price.amount,
            "currency": i.price.currency,
            "category_id": i.category_id or "",
            "active": i.id in active,
            "stock": stock.get(i.id, []),
        }
        for i in cat.items.values()
    ]
    rows.sort(key=lambda r: (not r["active"], str(r["name"]).lower(), str(r["id"])))
    return rows

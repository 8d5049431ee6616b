"""The supply twin in the seller's database: its document, promises, component reservations and the
scheduling side of production orders (``seller_production_orders``, shared with demand pools).

* The twin document (:mod:`mercato.supply.model`, file format in docs/supply.md) is one row, validated
  before it is stored; :func:`twin_of` keeps the parsed twin per store for a few seconds, so a node
  without a twin pays no query per quote after the first.
* Stock comes from the node itself: the twin sees ``on_hand - reserved`` per (item, location) — a
  negative number is what confirmed orders still owe, covered by receipts and production.
* Open production orders are the plan's jobs; those made for an order or for replenishment add their
  goods to the plan as receipts on the day after their due day. Component draws for a job are
  reserved in ``seller_supply_reservations`` until the job starts (start consumes them from stock).
* :func:`reserve_in` runs inside the confirm transaction: the order, its stock reservation, its
  production orders and its promise commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Integer,
    String,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from mercato.db import UTCDateTime
from mercato.seller.domain import InvalidInput
from mercato.supply.errors import PromiseUnavailable
from mercato.supply.model import Receipt, Twin
from mercato.supply.promise import Plan, Promise, StockReservation
from mercato.supply.schedule import Job, Slot

from .production import OPEN, PO, ProductionOrderView, _get_po, _views
from .stock import lock_keys, write_back
from .tables import ID, Base, StockLevelRow, table_of
from .twin import clear_twin, put_twin, twin_document, twin_of
from .txn import Store, check_now


class SupplyPromiseRow(Base):
    __tablename__ = "seller_supply_promises"
    order_id: Mapped[str] = mapped_column(ID, primary_key=True)
    city: Mapped[str] = mapped_column(String(64))
    ship_on: Mapped[date] = mapped_column(Date)
    deliver_on: Mapped[date] = mapped_column(Date)  # the date the buyer was told last
    promised_on: Mapped[date] = mapped_column(Date)  # the first promise
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    late: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SupplyReservationRow(Base):
    __tablename__ = "seller_supply_reservations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    production_order_id: Mapped[str] = mapped_column(ID, index=True)
    item_id: Mapped[str] = mapped_column(ID)
    location_id: Mapped[str] = mapped_column(ID)
    quantity: Mapped[int] = mapped_column(BigInteger)
    draw_on: Mapped[date] = mapped_column(Date)


_LEVELS = table_of(StockLevelRow)
_DRAWS_T = table_of(SupplyReservationRow)
# Built once (the plan is read on every select of a node with a twin).
_READ_LEVELS = select(_LEVELS.c.item_id, _LEVELS.c.location_id, _LEVELS.c.on_hand, _LEVELS.c.reserved).where(
    _LEVELS.c.item_id.in_(bindparam("ids", expanding=True))
)
_OPEN_JOBS = (
    select(PO.c.id, PO.c.item_id, PO.c.quantity, PO.c.source, PO.c.state, PO.c.line_id, PO.c.release_on,
           PO.c.due_on, PO.c.production_start, PO.c.delivery_start)
    .where(PO.c.state.in_(OPEN))
    .order_by(PO.c.created_at, PO.c.id)
)  # fmt: skip
_READ_DRAWS = select(
    _DRAWS_T.c.item_id, _DRAWS_T.c.location_id, _DRAWS_T.c.quantity, _DRAWS_T.c.draw_on,
    _DRAWS_T.c.production_order_id,
).order_by(_DRAWS_T.c.id)  # fmt: skip


# -- the plan -------------------------------------------------------------------------------------


def _job_of(twin: Twin, po: Any, today: date) -> Job | None:
    """The schedulable job of a production order row (id, item_id, quantity, state, line_id, release_on,
    due_on, production_start, delivery_start); None when no line of the twin makes its item."""
    line_id = po.line_id
    if line_id is None or not any(ln.id == line_id for ln in twin.lines):
        makers = twin.lines_making(po.item_id)
        if not makers:
            return None
        line_id = makers[0].id
    if twin.line(line_id).rate(po.item_id) is None:
        return None
    # rows recorded without scheduling days (pools) take them from their production start and delivery
    planned_release = po.release_on or (po.production_start.date() if po.production_start else today)
    release = today if po.state == "started" else max(planned_release, today)
    due = po.due_on or (po.delivery_start.date() - timedelta(days=1) if po.delivery_start else release)
    due = max(due, release)
    return Job(po.id, po.item_id, po.quantity, line_id, due, release)


def plan_in(s: Session, twin: Twin, today: date) -> Plan:
    """The twin as this node stands: stock net of reservations, open production, component draws."""
    ids = sorted({i.id for i in twin.items})
    # the twin file's stock counts where the node keeps no stock row (components it does not sell)
    levels: dict[tuple[str, str], int] = {(x.item, x.location): x.quantity for x in twin.stock}
    s.flush()
    conn = s.connection()
    if ids:
        for r in conn.execute(_READ_LEVELS, {"ids": ids}):
            levels[(r[0], r[1])] = r[2] - r[3]
    jobs, receipts = [], list(twin.receipts)
    for po in conn.execute(_OPEN_JOBS):
        job = _job_of(twin, po, today)
        if job is None:
            continue
        jobs.append(job)
        if not po.source.startswith("pool:"):  # pool runs were received into stock when they cleared
            loc = twin.line(job.line).location
            receipts.append(Receipt(job.item, loc, job.quantity, job.due + timedelta(days=1), po.id))
    draws = [StockReservation(r[0], r[1], r[2], r[3], r[4]) for r in conn.execute(_READ_DRAWS)]
    t = twin.with_stock(levels).with_receipts(receipts)
    return Plan(t, today, draws, jobs)


def _lines(items: Iterable[tuple[str, int]], twin: Twin) -> list[tuple[str, int]]:
    return [(i, q) for i, q in items if twin.has_item(i)]


def promise(store: Store, items: Sequence[tuple[str, int]], city: str, now: datetime) -> Promise | None:
    """Promise dates for the lines of ``items`` the twin knows (None: no twin, or none of them).

    Raises :class:`PromiseUnavailable` when a known line cannot be promised."""
    twin = twin_of(store)
    if twin is None:
        return None
    lines = _lines(items, twin)
    if not lines:
        return None
    with store.read() as s:
        plan = plan_in(s, twin, now.astimezone(UTC).date())
    return plan.promise(lines, city)


def reserve_in(
    s: Session, twin: Twin, order_id: str, items: Sequence[tuple[str, int]], city: str, now: datetime
) -> Promise | None:
    """Inside the confirm transaction (before the order's own stock reservation is written): promise
    again and reserve what the promise is made from — production orders for made lines, component
    draws — and remember the promise. Raises :class:`PromiseUnavailable` when it cannot be kept."""
    lines = _lines(items, twin)
    if not lines:
        return None
    plan = plan_in(s, twin, now.astimezone(UTC).date())
    p = plan.promise(lines, city, ref=order_id)
    for ln in p.lines:
        for job in ln.jobs:
            loc = twin.line(job.line).location
            _insert_po(
                s,
                job.id,
                job.item,
                job.quantity,
                f"order:{order_id}",
                now,
                line_id=job.line,
                location_id=loc,
                order_id=order_id,
                release=job.release,
                due=job.due,
            )
        for r in ln.reservations:
            if ln.jobs and r.item != ln.item:  # component draws (stock draws are the ledger's)
                s.add(
                    SupplyReservationRow(
                        production_order_id=r.ref,
                        item_id=r.item,
                        location_id=r.location,
                        quantity=r.quantity,
                        draw_on=r.date,
                    )
                )
    s.add(
        SupplyPromiseRow(
            order_id=order_id,
            city=city,
            ship_on=p.ship_date,
            deliver_on=p.delivery_date,
            promised_on=p.delivery_date,
            lines=[_line_json(ln) for ln in p.lines],
            late=False,
            created_at=now,
            updated_at=now,
        )
    )
    return p


def _line_json(ln: Any) -> dict[str, Any]:
    return {
        "item": ln.item,
        "quantity": ln.quantity,
        "source": ln.source.value,
        "location": ln.location,
        "ship_on": ln.ship_date.isoformat(),
        "deliver_on": ln.delivery_date.isoformat(),
        "jobs": [j.id for j in ln.jobs],
    }


def window(p: Promise, now: datetime) -> tuple[datetime, datetime]:
    """The delivery window a promise gives a buyer: from the ship day to the end of the delivery day."""
    start = datetime(p.ship_date.year, p.ship_date.month, p.ship_date.day, tzinfo=UTC)
    d = p.delivery_date + timedelta(days=1)
    end = datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(seconds=1)
    return max(start, now), max(end, now)


# -- production orders ----------------------------------------------------------------------------


def _insert_po(
    s: Session,
    po_id: str,
    item_id: str,
    quantity: int,
    source: str,
    now: datetime,
    *,
    line_id: str | None,
    location_id: str | None,
    order_id: str | None,
    release: date,
    due: date,
) -> None:
    start = datetime(release.year, release.month, release.day, tzinfo=UTC)
    ready = datetime(due.year, due.month, due.day, tzinfo=UTC) + timedelta(days=1)
    s.execute(
        PO.insert().values(
            id=po_id,
            item_id=item_id,
            quantity=quantity,
            unit_price=None,
            currency=None,
            production_start=start,
            delivery_start=ready,
            delivery_end=ready,
            source=source,
            state="planned",
            created_at=now,
            line_id=line_id,
            location_id=location_id,
            order_id=order_id,
            release_on=release,
            due_on=due,
            expected_on=None,
            late=False,
            started_at=None,
            completed_at=None,
        )
    )


def create_production_order(
    store: Store,
    po_id: str,
    item_id: str,
    quantity: int,
    due: date,
    now: datetime,
    *,
    source: str = "manual",
    line_id: str | None = None,
    release: date | None = None,
) -> ProductionOrderView:
    """Record a production order for ``quantity`` of ``item_id`` to be complete by the end of ``due``
    (pools: ``source="pool:<id>"``; replenishment: ``source="replenishment"``). Idempotent on ``po_id``.

    With a twin, the item must be made on some line (``line_id`` picks one) and components are
    reserved from the twin's stock for the release day (default today). Raises ``InvalidInput``."""
    check_now(now)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"production order quantity must be an integer ≥ 1, got {quantity!r}")
    if not po_id or not item_id:
        raise InvalidInput("a production order needs an id and an item")
    twin = twin_of(store)
    today = now.astimezone(UTC).date()
    rel = release or today
    if due < rel:
        raise InvalidInput(f"due day {due} is before the release day {rel}")
    with store.write() as s:
        existing = _views(s, PO.c.id == po_id)
        if existing:
            return existing[0]
        loc = None
        if twin is not None:
            if not twin.has_item(item_id):
                raise InvalidInput(f"the supply twin has no item {item_id!r}")
            makers = [ln for ln in twin.lines_making(item_id) if line_id in (None, ln.id)]
            if not makers:
                raise InvalidInput(
                    f"no line of the twin makes {item_id!r}" + (f" ({line_id})" if line_id else "")
                )
            line_id, loc = makers[0].id, makers[0].location
            plan = plan_in(s, twin, today)
            for b in twin.components(item_id):
                need = b.quantity * quantity
                got = plan.atp(b.component, loc, need)
                if got is None:
                    raise InvalidInput(f"not enough {b.component!r} at {loc!r} for {quantity} × {item_id!r}")
                rel = max(rel, got)
                plan.reservations.append(StockReservation(b.component, loc, need, got, po_id))
                s.add(
                    SupplyReservationRow(
                        production_order_id=po_id,
                        item_id=b.component,
                        location_id=loc,
                        quantity=need,
                        draw_on=got,
                    )
                )
        _insert_po(
            s,
            po_id,
            item_id,
            quantity,
            source,
            now,
            line_id=line_id,
            location_id=loc,
            order_id=None,
            release=rel,
            due=max(due, rel),
        )
        return _views(s, PO.c.id == po_id)[0]


def production_orders(store: Store, open_only: bool = False) -> list[ProductionOrderView]:
    with store.read() as s:
        return _views(s, PO.c.state.in_(OPEN) if open_only else None)


def start_production(store: Store, po_id: str, now: datetime) -> ProductionOrderView:
    """Start a planned production order: its components leave stock (ledger, with the order as ref)."""
    check_now(now)
    twin = twin_of(store)
    with store.write() as s:
        po = _get_po(s, po_id)
        if po.state != "planned":
            raise InvalidInput(f"production order {po_id} is {po.state}; only a planned one can start")
        if twin is not None and po.location_id:
            draws = {b.component: b.quantity * po.quantity for b in twin.components(po.item_id)}
            # components the node keeps stock rows for leave stock; others live in the twin file only
            tracked = {
                r[0]
                for r in s.execute(
                    select(_LEVELS.c.item_id).where(
                        _LEVELS.c.item_id.in_(sorted(draws)), _LEVELS.c.location_id == po.location_id
                    )
                )
            }
            draws = {c: q for c, q in draws.items() if c in tracked}
            if draws:
                book = lock_keys(s, [(c, po.location_id) for c in draws])
                entries = []
                for comp, qty in sorted(draws.items()):
                    if book.level(comp, po.location_id).on_hand < qty:
                        raise InvalidInput(
                            f"cannot start {po_id}: {qty} × {comp!r} needed at {po.location_id!r}, "
                            f"{book.level(comp, po.location_id).on_hand} on hand"
                        )
                    entries.append(
                        book.adjust(
                            comp, po.location_id, -qty, now, f"consumed by production order {po_id}", po_id
                        )
                    )
                write_back(s, book, entries)
            s.execute(delete(SupplyReservationRow).where(SupplyReservationRow.production_order_id == po_id))
        s.execute(update(PO).where(PO.c.id == po_id).values(state="started", started_at=now))
        return _get_po(s, po_id)


def complete_production(
    store: Store, po_id: str, now: datetime, location_id: str | None = None
) -> ProductionOrderView:
    """Complete a production order: its goods arrive in stock (ledger ``receive``, reason naming it),
    unless they were received for it before (pool runs are received when the pool clears)."""
    check_now(now)
    from mercato.seller.store.tables import LedgerRow

    with store.write() as s:
        po = _get_po(s, po_id)
        if po.state not in OPEN:
            raise InvalidInput(f"production order {po_id} is {po.state}; it cannot complete")
        loc = location_id or po.location_id
        received = s.execute(
            select(LedgerRow.id)
            .where(LedgerRow.ref == po_id, LedgerRow.item_id == po.item_id, LedgerRow.on_hand_delta > 0)
            .limit(1)
        ).first()
        if received is None:
            if not loc:
                raise InvalidInput(f"production order {po_id} has no location: say where its goods go")
            book = lock_keys(s, [(po.item_id, loc)])
            entry = book.receive(
                po.item_id, loc, po.quantity, now, f"production order {po_id} completed", po_id
            )
            write_back(s, book, [entry])
        s.execute(delete(SupplyReservationRow).where(SupplyReservationRow.production_order_id == po_id))
        s.execute(update(PO).where(PO.c.id == po_id).values(state="completed", completed_at=now, late=False))
        return _get_po(s, po_id)


def schedule(store: Store, now: datetime) -> list[Slot]:
    """The earliest-due-date schedule of the open production orders (empty without a twin)."""
    twin = twin_of(store)
    if twin is None:
        return []
    with store.read() as s:
        plan = plan_in(s, twin, now.astimezone(UTC).date())
    return sorted(plan.slots().values(), key=lambda sl: (sl.job.line, sl.start, sl.job.id))


__all__ = [
    "ProductionOrderView",
    "PromiseUnavailable",
    "clear_twin",
    "complete_production",
    "create_production_order",
    "plan_in",
    "production_orders",
    "promise",
    "put_twin",
    "reserve_in",
    "schedule",
    "start_production",
    "twin_document",
    "twin_of",
    "window",
]

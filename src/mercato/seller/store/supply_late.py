"""Disruptions and late risk on the supply twin: a line down for some days, a receipt that arrives late.
Each re-plans the open production orders (:func:`mercato.seller.store.supply.plan_in`), flags those that
can no longer finish by their due day, gives each affected order a new delivery date and tells its
buyer by an unsolicited ``on_update``; the flag, the new date and the callback commit together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from mercato.supply.errors import SupplyInputError
from mercato.supply.model import Twin
from mercato.supply.promise import Plan, StockReservation, route_days
from mercato.supply.schedule import Job

from .callbacks import Callback, send_later
from .production import OPEN, PO, _views
from .supply import SupplyPromiseRow, plan_in
from .twin import _edit_twin, forget, twin_of
from .txn import Store, check_now


@dataclass(frozen=True)
class LateRisk:
    production_order_id: str
    order_id: str | None
    due_on: date
    expected_on: date  # the day it now finishes
    new_delivery: date | None  # for an order: the delivery date the buyer is told now


# Builds the unsolicited on_update telling the buyer of ``order_id`` its new delivery date.
LateNotifier = Callable[[str, date], Callback | None]


def check_late(store: Store, now: datetime, notify: LateNotifier | None = None) -> list[LateRisk]:
    """Re-plan with the twin's current disruptions: flag every open production order that can no longer
    finish by its due day, give each affected order a new delivery date and tell its buyer (the flag,
    the new date and the on_update commit together). Orders back on time lose their flag."""
    check_now(now)
    twin = twin_of(store)
    if twin is None:
        return []
    with store.write() as s:
        return _check_late(s, twin, now, notify)


def _check_late(s: Session, twin: Twin, now: datetime, notify: LateNotifier | None) -> list[LateRisk]:
    today = now.astimezone(UTC).date()
    plan = plan_in(s, twin, today)
    # a component arriving later than planned moves its job's release day
    releases: dict[str, date] = {}
    base = Plan(plan.twin, today, [], plan.jobs)
    for r in sorted(plan.reservations, key=lambda r: (r.date, r.ref)):
        got = base.atp(r.item, r.location, r.quantity)
        day = got if got is not None else today + timedelta(days=3 * 366)
        base.reservations.append(StockReservation(r.item, r.location, r.quantity, max(day, r.date), r.ref))
        releases[r.ref] = max(releases.get(r.ref, today), day)
    plan.jobs = [
        Job(j.id, j.item, j.quantity, j.line, j.due, max(j.release, releases.get(j.id, j.release)))
        for j in plan.jobs
    ]
    slots = plan.slots()
    out: list[LateRisk] = []
    worst: dict[str, date] = {}
    for po in _views(s, PO.c.state.in_(OPEN)):
        slot = slots.get(po.id)
        if slot is None:
            continue
        late = slot.finish > slot.job.due
        s.execute(
            update(PO).where(PO.c.id == po.id).values(late=late, expected_on=slot.finish if late else None)
        )
        if not late:
            continue
        new = None
        if po.order_id:
            row = s.get(SupplyPromiseRow, po.order_id)
            if row is not None:
                days = route_days(twin, twin.line(slot.job.line).location, row.city) or 0
                # a component job delays its parent by as much as it is late
                new = max(
                    row.deliver_on,
                    slot.finish + timedelta(days=1 + days),
                    row.promised_on + timedelta(days=slot.late_days),
                )
                worst[po.order_id] = max(worst.get(po.order_id, new), new)
        out.append(LateRisk(po.id, po.order_id, slot.job.due, slot.finish, new))
    for order_id, new in sorted(worst.items()):
        row = s.get(SupplyPromiseRow, order_id)
        assert row is not None
        if new > row.deliver_on:
            row.deliver_on, row.late, row.updated_at = new, True, now
            if notify is not None:
                cb = notify(order_id, new)
                if cb is not None:
                    send_later(s, cb)
    return out


def add_downtime(
    store: Store,
    line_id: str,
    start: date,
    end: date,
    reason: str,
    now: datetime,
    notify: LateNotifier | None = None,
) -> list[LateRisk]:
    """A line is down from ``start`` to ``end``: record it in the twin and re-check every promise."""
    check_now(now)

    def edit(doc: dict[str, Any]) -> None:
        doc.setdefault("downtime", []).append(
            {"line": line_id, "start": start.isoformat(), "end": end.isoformat(), "reason": reason}
        )

    with store.write() as s:
        twin = _edit_twin(s, edit, now)
        out = _check_late(s, twin, now, notify)
    forget(store)
    return out


def move_receipt(
    store: Store, ref: str, new_date: date, now: datetime, notify: LateNotifier | None = None
) -> list[LateRisk]:
    """A scheduled receipt (by ``ref``) arrives on ``new_date`` instead: record it and re-check promises."""
    check_now(now)

    def edit(doc: dict[str, Any]) -> None:
        hits = [r for r in doc.get("receipts", []) if r.get("ref") == ref]
        if not hits:
            raise SupplyInputError([f"no scheduled receipt with ref {ref!r}"])
        for r in hits:
            r["date"] = new_date.isoformat()

    with store.write() as s:
        twin = _edit_twin(s, edit, now)
        out = _check_late(s, twin, now, notify)
    forget(store)
    return out


def promise_of(store: Store, order_id: str) -> dict[str, Any] | None:
    with store.read() as s:
        row = s.get(SupplyPromiseRow, order_id)
        if row is None:
            return None
        return {
            "order_id": row.order_id,
            "city": row.city,
            "ship_on": row.ship_on.isoformat(),
            "deliver_on": row.deliver_on.isoformat(),
            "promised_on": row.promised_on.isoformat(),
            "late": row.late,
            "lines": row.lines,
        }

"""The supply twin in the merchant admin API, under ``/admin/supply`` (same bearer token).

* ``GET/PUT/DELETE /admin/supply/twin`` — the twin document (file format: docs/supply.md); a bad
  document answers 422 with every problem and stores nothing;
* ``POST /admin/supply/promise`` — promise dates for a basket to a city (what select would say);
* ``GET/POST /admin/supply/production-orders``, ``POST .../{id}/start``, ``POST .../{id}/complete``;
* ``GET /admin/supply/schedule`` — the earliest-due-date schedule of the open production orders;
* ``POST /admin/supply/downtime`` (a line down for dates) and ``POST /admin/supply/receipts/{ref}/date``
  (a late receipt): recorded in the twin, every promise re-checked, late ones flagged and their buyers
  told the new date (unsolicited ``on_update`` through the outbox);
* ``GET /admin/supply/late`` — the production orders at risk; ``GET /admin/supply/orders/{id}`` — an
  order's promise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from mercato.seller.domain import DomainError
from mercato.seller.handlers import Env
from mercato.seller.handlers.supply import late_notifier
from mercato.seller.store import Store, supply_late
from mercato.seller.store import supply as store_supply
from mercato.supply.errors import PromiseUnavailable, SupplyInputError


class SupplyHost(Protocol):
    store: Store
    env: Env

    def wake(self) -> None: ...


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductionOrderIn(Strict):
    id: str = Field(min_length=1)
    item_id: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    due: date
    source: str = "manual"
    line_id: str | None = None
    release: date | None = None


class DowntimeIn(Strict):
    line: str = Field(min_length=1)
    start: date
    end: date
    reason: str = ""


class ReceiptDateIn(Strict):
    date: date


class PromiseLineIn(Strict):
    item_id: str
    quantity: int


class PromiseIn(Strict):
    city: str
    items: list[PromiseLineIn]


class CompleteIn(Strict):
    location_id: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


def risk_json(r: supply_late.LateRisk) -> dict[str, Any]:
    return {
        "production_order_id": r.production_order_id,
        "order_id": r.order_id,
        "due_on": r.due_on.isoformat(),
        "expected_on": r.expected_on.isoformat(),
        "new_delivery": r.new_delivery.isoformat() if r.new_delivery else None,
    }


def supply_router(host: SupplyHost) -> APIRouter:
    """Routes under ``/supply``; mount inside the admin router (it carries the token check)."""
    r = APIRouter(prefix="/supply", tags=["supply"])

    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SupplyInputError as exc:
            raise HTTPException(422, {"message": str(exc), "problems": exc.problems}) from None
        except PromiseUnavailable as exc:
            raise HTTPException(409, {"message": str(exc), "item_id": exc.item_id}) from None
        except DomainError as exc:
            raise HTTPException(exc.http_status, {"code": exc.code.value, "message": exc.message}) from None

    @r.get("/twin", summary="The supply twin document")
    def get_twin() -> dict[str, Any]:
        doc = store_supply.twin_document(host.store)
        if doc is None:
            raise HTTPException(404, "this node has no supply twin")
        return doc

    @r.put("/twin", summary="Replace the supply twin (validated; 422 lists every problem)")
    def put_twin(body: dict[str, Any]) -> dict[str, Any]:
        twin = run(store_supply.put_twin, host.store, body, now())
        return {"items": len(twin.items), "locations": len(twin.locations), "lines": len(twin.lines)}

    @r.delete("/twin", summary="Remove the twin: quotes go back to the simple delivery rule")
    def delete_twin() -> dict[str, str]:
        store_supply.clear_twin(host.store)
        return {"twin": "removed"}

    @r.post("/promise", summary="Promise dates for a basket to a buyer city (reserves nothing)")
    def promise(body: PromiseIn) -> dict[str, Any]:
        items = [(ln.item_id, ln.quantity) for ln in body.items]
        p = run(store_supply.promise, host.store, items, body.city, now())
        if p is None:
            raise HTTPException(404, "no supply twin, or it knows none of these items")
        return {
            "delivery_date": p.delivery_date.isoformat(),
            "ship_date": p.ship_date.isoformat(),
            "lines": [
                {
                    "item_id": ln.item,
                    "quantity": ln.quantity,
                    "source": ln.source.value,
                    "location": ln.location,
                    "ship_date": ln.ship_date.isoformat(),
                    "delivery_date": ln.delivery_date.isoformat(),
                    "production": [j.id for j in ln.jobs],
                }
                for ln in p.lines
            ],
        }

    @r.get("/production-orders", summary="Production orders (open only with ?open=true)")
    def list_pos(open: bool = False) -> list[dict[str, Any]]:
        return [po.to_dict() for po in store_supply.production_orders(host.store, open)]

    @r.post("/production-orders", summary="Create a production order (idempotent on its id)")
    def create_po(body: ProductionOrderIn) -> dict[str, Any]:
        po = run(store_supply.create_production_order, host.store, body.id, body.item_id, body.quantity,
                 body.due, now(), source=body.source, line_id=body.line_id, release=body.release)  # fmt: skip
        return dict(po.to_dict())

    @r.post("/production-orders/{po_id}/start", summary="Start: its components leave stock")
    def start_po(po_id: str) -> dict[str, Any]:
        return dict(run(store_supply.start_production, host.store, po_id, now()).to_dict())

    @r.post("/production-orders/{po_id}/complete", summary="Complete: its goods arrive in stock")
    def complete_po(po_id: str, body: CompleteIn | None = None) -> dict[str, Any]:
        loc = body.location_id if body is not None else None
        po = run(store_supply.complete_production, host.store, po_id, now(), loc)
        host.wake()
        return dict(po.to_dict())

    @r.get("/schedule", summary="Earliest-due-date schedule of the open production orders")
    def get_schedule() -> list[dict[str, Any]]:
        return [
            {"production_order_id": s.job.id, "line": s.job.line, "item_id": s.job.item,
             "quantity": s.job.quantity, "start": s.start.isoformat(), "finish": s.finish.isoformat(),
             "due": s.job.due.isoformat(), "late_days": s.late_days}
            for s in run(store_supply.schedule, host.store, now())
        ]  # fmt: skip

    @r.post("/downtime", summary="A line is down for dates: re-check promises, tell late buyers")
    def downtime(body: DowntimeIn) -> list[dict[str, Any]]:
        risks = run(
            supply_late.add_downtime,
            host.store,
            body.line,
            body.start,
            body.end,
            body.reason,
            now(),
            late_notifier(host.env),
        )
        host.wake()
        return [risk_json(x) for x in risks]

    @r.post("/receipts/{ref}/date", summary="A scheduled receipt moves: re-check promises, tell late buyers")
    def receipt_date(ref: str, body: ReceiptDateIn) -> list[dict[str, Any]]:
        risks = run(supply_late.move_receipt, host.store, ref, body.date, now(), late_notifier(host.env))
        host.wake()
        return [risk_json(x) for x in risks]

    @r.get("/late", summary="Production orders at risk of finishing after their due day")
    def late() -> list[dict[str, Any]]:
        return [po.to_dict() for po in store_supply.production_orders(host.store, True) if po.late]

    @r.get("/orders/{order_id}", summary="The promise made for an order")
    def order_promise(order_id: str) -> dict[str, Any]:
        p = supply_late.promise_of(host.store, order_id)
        if p is None:
            raise HTTPException(404, f"no supply promise for order {order_id!r}")
        return p

    return r

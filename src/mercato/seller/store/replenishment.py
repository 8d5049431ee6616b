"""Accepting a replenishment suggestion: it becomes a production order when a line of the supply twin
makes the item, a purchase order (a scheduled receipt in the twin, which promises then count on) when
the twin knows the item but no line makes it, and a plain production order record on a node without a
twin. Idempotent on ``ref``: a form sent twice orders once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mercato.seller.domain import InvalidInput
from mercato.supply.errors import SupplyInputError

from .supply import create_production_order
from .twin import _edit_twin, forget, twin_of
from .txn import Store, check_now


@dataclass(frozen=True)
class Replenishment:
    kind: str  # "production" | "purchase"
    ref: str
    item_id: str
    location_id: str
    quantity: int
    due: str  # ISO day the goods are due


def accept(
    store: Store, ref: str, item_id: str, location_id: str, quantity: int, lead_days: int, now: datetime
) -> Replenishment:
    """Order ``quantity`` of ``item_id`` for ``location_id``, due ``lead_days`` from today."""
    check_now(now)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"quantity must be a whole number of at least 1, got {quantity!r}")
    if isinstance(lead_days, bool) or not isinstance(lead_days, int) or not 0 <= lead_days <= 365:
        raise InvalidInput(f"lead time must be 0 to 365 days, got {lead_days!r}")
    if not ref or len(ref) > 64:
        raise InvalidInput("a replenishment needs a reference of 1 to 64 characters")
    due = now.astimezone(UTC).date() + timedelta(days=lead_days)
    twin = twin_of(store)
    if twin is None or twin.lines_making(item_id):
        po = create_production_order(store, ref, item_id, quantity, due, now, source="replenishment")
        return Replenishment("production", po.id, po.item_id, po.location_id or location_id, po.quantity,
                             po.due_on.isoformat() if po.due_on else due.isoformat())  # fmt: skip
    if not twin.has_item(item_id):
        raise InvalidInput(f"the supply twin has no item {item_id!r}")
    found: list[dict[str, Any]] = []

    def edit(doc: dict[str, Any]) -> None:
        receipts = doc.setdefault("receipts", [])
        found.extend(r for r in receipts if r.get("ref") == ref)
        if not found:
            receipts.append({"item": item_id, "location": location_id, "quantity": quantity,
                             "date": due.isoformat(), "ref": ref})  # fmt: skip

    try:
        with store.write() as s:
            _edit_twin(s, edit, now)
    except SupplyInputError as exc:
        raise InvalidInput("; ".join(exc.problems)) from None
    forget(store)
    if found:  # ordered before: what was ordered then
        r = found[0]
        return Replenishment(
            "purchase", ref, str(r["item"]), str(r["location"]), int(r["quantity"]), str(r["date"])
        )
    return Replenishment("purchase", ref, item_id, location_id, quantity, due.isoformat())

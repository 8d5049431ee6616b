"""Pool builders and an exhaustive reference solver for small instances."""

from __future__ import annotations

import itertools
from typing import Any

from mercato.pools.clearing import Assignment, check, surplus_of
from mercato.pools.model import Pool

CLEARED = "2026-11-25T00:00:00Z"
LATER = "2026-12-01T00:00:00Z"


def offer(
    oid: str, maker: str, tiers: list[tuple[int, int]], moq: int, cap: int, cur: str = "INR"
) -> dict[str, Any]:
    return {
        "id": oid,
        "manufacturer": maker,
        "currency": cur,
        "moq": moq,
        "capacity": cap,
        "tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
    }


def commitment(cid: str, qty: int, max_price: int, offers: list[str], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": cid,
        "quantity": qty,
        "max_unit_price": max_price,
        "currency": "INR",
        "offers": offers,
        "expires_at": LATER,
    }
    doc.update(extra)
    return doc


def document(
    makers: dict[str, int], offers: list[dict[str, Any]], commitments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "cleared_at": CLEARED,
        "currency": "INR",
        "manufacturers": [{"id": m, "capacity": c} for m, c in makers.items()],
        "offers": offers,
        "commitments": commitments,
    }


def brute_force(pool: Pool) -> int:
    """Best surplus over every assignment of each commitment to nothing or one listed offer."""
    choices = [(None, *c.offers) for c in pool.commitments]
    best = 0
    for combo in itertools.product(*choices):
        groups: dict[str, list[str]] = {}
        for c, oid in zip(pool.commitments, combo, strict=True):
            if oid is not None:
                groups.setdefault(oid, []).append(c.id)
        qty = {c.id: c.quantity for c in pool.commitments}
        assignment: Assignment = {}
        feasible = True
        for oid, ids in groups.items():
            o = pool.offer(oid)
            price = o.price_at(sum(qty[i] for i in ids))
            if price is None:
                feasible = False
                break
            tier = [t.unit_price for t in o.tiers].index(price)
            assignment[oid] = (tier, ids)
        if feasible and not check(pool, assignment):
            best = max(best, surplus_of(pool, assignment))
    return best

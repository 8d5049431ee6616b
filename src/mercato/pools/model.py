"""Demand pool data model: offers with all-units price tiers, manufacturers, commitments.

Pure and deterministic. ``parse_pool`` turns a JSON-like mapping into a validated ``Pool``
or raises ``PoolInputError`` listing every problem found; clearing only ever sees a ``Pool``.
Money is integer minor units of one currency per pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class PoolInputError(ValueError):
    """The pool input is invalid; ``problems`` lists one message per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``min_quantity`` units of run quantity on, every unit costs ``unit_price``."""

    min_quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    manufacturer: str
    currency: str
    tiers: tuple[Tier, ...]  # strictly increasing thresholds, strictly decreasing prices
    moq: int
    capacity: int

    def price_at(self, quantity: int) -> int | None:
        """The all-units unit price for a run of ``quantity`` units, or None below the first tier."""
        price: int | None = None
        for tier in self.tiers:
            if quantity >= tier.min_quantity:
                price = tier.unit_price
        return price

    def tier_range(self, index: int) -> tuple[int, int]:
        """Run quantities (inclusive) that land on tier ``index`` and respect MOQ and capacity."""
        low = max(self.tiers[index].min_quantity, self.moq, 1)
        high = self.capacity
        if index + 1 < len(self.tiers):
            high = min(high, self.tiers[index + 1].min_quantity - 1)
        return low, high


@dataclass(frozen=True, slots=True)
class Manufacturer:
    id: str
    capacity: int  # total units across all its offers


@dataclass(frozen=True, slots=True)
class Commitment:
    id: str
    quantity: int
    max_unit_price: int
    currency: str
    offers: tuple[str, ...]  # acceptable offer ids, most preferred first
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Pool:
    cleared_at: datetime
    currency: str
    manufacturers: tuple[Manufacturer, ...]
    offers: tuple[Offer, ...]
    commitments: tuple[Commitment, ...]

    def offer(self, offer_id: str) -> Offer:
        for offer in self.offers:
            if offer.id == offer_id:
                return offer
        raise KeyError(offer_id)


def _time(value: Any, where: str, problems: list[str]) -> datetime | None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected an RFC 3339 time string")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: {value!r} is not an RFC 3339 time")
        return None
    if parsed.tzinfo is None:
        problems.append(f"{where}: {value!r} has no time zone offset")
        return None
    return parsed


def _int(obj: Mapping[str, Any], key: str, where: str, problems: list[str]) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: {key!r} must be an integer")
        return None
    return value


def _str(obj: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: {key!r} must be a non-empty string")
        return None
    return value


def _list(obj: Mapping[str, Any], key: str, where: str, problems: list[str]) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        problems.append(f"{where}: {key!r} must be a list")
        return []
    return value


def _parse_offer(raw: Any, where: str, currency: str | None, problems: list[str]) -> Offer | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object")
        return None
    before = len(problems)
    oid = _str(raw, "id", where, problems)
    where = f"offer {oid!r}" if oid else where
    manufacturer = _str(raw, "manufacturer", where, problems)
    ocur = _str(raw, "currency", where, problems)
    moq = _int(raw, "moq", where, problems)
    capacity = _int(raw, "capacity", where, problems)
    tiers: list[Tier] = []
    for i, rt in enumerate(_list(raw, "tiers", where, problems)):
        tw = f"{where} tier {i}"
        if not isinstance(rt, dict):
            problems.append(f"{tw}: expected an object")
            continue
        threshold = _int(rt, "min_quantity", tw, problems)
        price = _int(rt, "unit_price", tw, problems)
        if threshold is not None and price is not None:
            if threshold < 1:
                problems.append(f"{tw}: min_quantity must be at least 1, got {threshold}")
            if price < 0:
                problems.append(f"{tw}: unit_price must not be negative, got {price}")
            tiers.append(Tier(threshold, price))
    if len(problems) == before and not tiers:
        problems.append(f"{where}: needs at least one price tier")
    for prev, cur in zip(tiers, tiers[1:], strict=False):
        if cur.min_quantity <= prev.min_quantity:
            problems.append(
                f"{where}: tiers overlap or are out of order (min_quantity {cur.min_quantity} "
                f"after {prev.min_quantity}); thresholds must strictly increase"
            )
        if cur.unit_price >= prev.unit_price:
            problems.append(
                f"{where}: tier prices must strictly decrease as quantity grows "
                f"({cur.unit_price} at {cur.min_quantity} after {prev.unit_price} at {prev.min_quantity})"
            )
    if moq is not None and moq < 1:
        problems.append(f"{where}: moq must be at least 1, got {moq}")
    if capacity is not None and capacity < 1:
        problems.append(f"{where}: capacity must be at least 1, got {capacity}")
    if moq is not None and capacity is not None and moq > capacity:
        problems.append(f"{where}: moq {moq} is above capacity {capacity}")
    if tiers and capacity is not None and tiers[0].min_quantity > capacity:
        problems.append(f"{where}: first tier starts at {tiers[0].min_quantity}, above capacity {capacity}")
    if ocur is not None and currency is not None and ocur != currency:
        problems.append(f"{where}: currency {ocur} does not match the pool currency {currency}")
    if len(problems) != before:
        return None
    assert oid and manufacturer and ocur and moq is not None and capacity is not None
    return Offer(oid, manufacturer, ocur, tuple(tiers), moq, capacity)


def _parse_commitment(
    raw: Any,
    where: str,
    pool: tuple[str | None, datetime | None],
    offers: Mapping[str, Offer],
    problems: list[str],
) -> Commitment | None:
    currency, cleared_at = pool
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object")
        return None
    before = len(problems)
    cid = _str(raw, "id", where, problems)
    where = f"commitment {cid!r}" if cid else where
    quantity = _int(raw, "quantity", where, problems)
    max_price = _int(raw, "max_unit_price", where, problems)
    ccur = _str(raw, "currency", where, problems)
    expires = _time(raw.get("expires_at"), f"{where} expires_at", problems)
    ids = _list(raw, "offers", where, problems)
    if quantity is not None and quantity <= 0:
        problems.append(f"{where}: quantity must be positive, got {quantity}")
    if max_price is not None and max_price < 0:
        problems.append(f"{where}: max_unit_price must not be negative, got {max_price}")
    if ccur is not None and currency is not None and ccur != currency:
        problems.append(f"{where}: currency {ccur} does not match the pool currency {currency}")
    if expires is not None and cleared_at is not None and expires <= cleared_at:
        problems.append(f"{where}: expired at {raw['expires_at']}, before the clearing time")
    if "offers" in raw and not ids:
        problems.append(f"{where}: lists no acceptable offers")
    for oid in ids:
        if not isinstance(oid, str):
            problems.append(f"{where}: offer ids must be strings")
        elif oid not in offers:
            problems.append(f"{where}: unknown offer {oid!r}")
    if len(set(map(str, ids))) != len(ids):
        problems.append(f"{where}: lists the same offer twice")
    if len(problems) != before:
        return None
    assert cid and quantity is not None and max_price is not None and ccur and expires is not None
    return Commitment(cid, quantity, max_price, ccur, tuple(ids), expires)


def parse_pool(raw: Any) -> Pool:
    """Validate a pool document (see docs/pools.md) and return it, or raise PoolInputError."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise PoolInputError(["the document must be a JSON object"])
    cleared_at = _time(raw.get("cleared_at"), "cleared_at", problems)
    currency = _str(raw, "currency", "pool", problems)
    manufacturers: dict[str, Manufacturer] = {}
    for i, rm in enumerate(_list(raw, "manufacturers", "pool", problems)):
        where = f"manufacturer {i}"
        if not isinstance(rm, dict):
            problems.append(f"{where}: expected an object")
            continue
        mid = _str(rm, "id", where, problems)
        cap = _int(rm, "capacity", f"manufacturer {mid!r}", problems)
        if mid is None or cap is None:
            continue
        if cap < 0:
            problems.append(f"manufacturer {mid!r}: capacity must not be negative, got {cap}")
        elif mid in manufacturers:
            problems.append(f"manufacturer {mid!r}: listed twice")
        else:
            manufacturers[mid] = Manufacturer(mid, cap)
    offers: dict[str, Offer] = {}
    for i, ro in enumerate(_list(raw, "offers", "pool", problems)):
        offer = _parse_offer(ro, f"offer {i}", currency, problems)
        if offer is None:
            continue
        if offer.id in offers:
            problems.append(f"offer {offer.id!r}: listed twice")
        elif offer.manufacturer not in manufacturers:
            problems.append(f"offer {offer.id!r}: unknown manufacturer {offer.manufacturer!r}")
        else:
            offers[offer.id] = offer
    commitments: dict[str, Commitment] = {}
    for i, rc in enumerate(_list(raw, "commitments", "pool", problems)):
        c = _parse_commitment(rc, f"commitment {i}", (currency, cleared_at), offers, problems)
        if c is None:
            continue
        if c.id in commitments:
            problems.append(f"commitment {c.id!r}: listed twice")
        else:
            commitments[c.id] = c
    if problems:
        raise PoolInputError(problems)
    assert cleared_at is not None and currency is not None
    return Pool(
        cleared_at=cleared_at,
        currency=currency,
        manufacturers=tuple(sorted(manufacturers.values(), key=lambda m: m.id)),
        offers=tuple(sorted(offers.values(), key=lambda o: o.id)),
        commitments=tuple(sorted(commitments.values(), key=lambda c: c.id)),
    )

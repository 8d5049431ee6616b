"""Pool offers on the network: what a manufacturer publishes, and its Beckn tag layout.

A pool offer is a catalog item of a manufacturer's seller node with two extra tag groups
(see docs/pools.md): ``pool`` (scalar terms and live progress) and ``pool_tiers`` (one tag per
all-units price tier: code = minimum run quantity, value = unit price as a decimal string).
Offers are named network-wide as ``{bpp_id}/{item_id}``; the manufacturer of an offer is its
seller node (``bpp_id``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mercato.pools.model import PoolInputError, Tier, parse_pool

POOL_TAG = "pool"
TIERS_TAG = "pool_tiers"
MINOR_DIGITS = 2  # tag prices are decimal major units with two minor digits (paise, cents)


@dataclass(frozen=True, slots=True)
class PoolOffer:
    bpp_id: str
    item_id: str
    provider_id: str
    pool: str  # the pool (one deadline, one coordinator) this offer clears in
    coordinator: str  # base URL that takes commitments and clears the pool
    name: str
    currency: str
    tiers: tuple[Tier, ...]
    moq: int
    capacity: int
    manufacturer_capacity: int  # the node's total units across its offers in this pool
    deadline: datetime
    production_start: datetime
    delivery_start: datetime
    delivery_end: datetime
    cities: tuple[str, ...] = ()
    bpp_uri: str = ""

    @property
    def id(self) -> str:
        return offer_id(self.bpp_id, self.item_id)

    def to_doc(self) -> dict[str, Any]:
        """The offer as a JSON document (what the node signs and a coordinator publishes)."""
        return {
            "id": self.id,
            "bpp_id": self.bpp_id,
            "bpp_uri": self.bpp_uri,
            "item_id": self.item_id,
            "provider_id": self.provider_id,
            "pool": self.pool,
            "coordinator": self.coordinator,
            "name": self.name,
            "manufacturer": self.bpp_id,
            "manufacturer_capacity": self.manufacturer_capacity,
            "currency": self.currency,
            "moq": self.moq,
            "capacity": self.capacity,
            "tiers": [{"min_quantity": t.min_quantity, "unit_price": t.unit_price} for t in self.tiers],
            "deadline": _ts(self.deadline),
            "production_start": _ts(self.production_start),
            "delivery_start": _ts(self.delivery_start),
            "delivery_end": _ts(self.delivery_end),
            "cities": list(self.cities),
        }


def offer_id(bpp_id: str, item_id: str) -> str:
    return f"{bpp_id}/{item_id}"


def _ts(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _time(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> datetime | None:
    value = raw.get(key)
    if not isinstance(value, str):
        problems.append(f"{where}: {key!r} must be an RFC 3339 time string")
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: {key!r} is not an RFC 3339 time: {value!r}")
        return None
    if t.tzinfo is None:
        problems.append(f"{where}: {key!r} has no time zone offset: {value!r}")
        return None
    return t


def _text(raw: Mapping[str, Any], key: str, where: str, problems: list[str], *, empty: bool = False) -> str:
    value = raw.get(key, "" if empty else None)
    if not isinstance(value, str) or (not empty and not value):
        problems.append(f"{where}: {key!r} must be a{'' if empty else ' non-empty'} string")
        return ""
    return value


def offer_from_doc(raw: Any) -> PoolOffer:
    """Validate an offer document (``PoolOffer.to_doc`` shape); raise PoolInputError listing every problem.

    Tiers, MOQ and capacity get the clearing model's own checks (overlapping or non-decreasing
    tiers, MOQ above capacity, ...); the dates must run deadline <= production start <= delivery
    start <= delivery end.
    """
    if not isinstance(raw, dict):
        raise PoolInputError(["the offer must be a JSON object"])
    problems: list[str] = []
    item_id = _text(raw, "item_id", "offer", problems)
    bpp_id = _text(raw, "bpp_id", "offer", problems)
    where = f"offer {offer_id(bpp_id, item_id)!r}" if item_id and bpp_id else "offer"
    if "id" in raw and raw["id"] != offer_id(bpp_id, item_id):
        problems.append(f"{where}: id must be {offer_id(bpp_id, item_id)!r}, got {raw['id']!r}")
    provider_id = _text(raw, "provider_id", where, problems)
    pool = _text(raw, "pool", where, problems)
    coordinator = _text(raw, "coordinator", where, problems)
    if coordinator and not coordinator.startswith(("http://", "https://")):
        problems.append(f"{where}: coordinator must be an http(s) URL, got {coordinator!r}")
    name = _text(raw, "name", where, problems, empty=True)
    bpp_uri = _text(raw, "bpp_uri", where, problems, empty=True)
    currency = _text(raw, "currency", where, problems)
    mcap = raw.get("manufacturer_capacity")
    if isinstance(mcap, bool) or not isinstance(mcap, int) or mcap < 1:
        problems.append(f"{where}: 'manufacturer_capacity' must be a positive integer")
        mcap = 0
    cities = raw.get("cities", [])
    if not isinstance(cities, list) or not all(isinstance(c, str) and c for c in cities):
        problems.append(f"{where}: 'cities' must be a list of city codes")
        cities = []
    # tiers, moq, capacity: the clearing model's validation, with its messages
    model_offer = {
        "id": offer_id(bpp_id, item_id) if item_id and bpp_id else "?",
        "manufacturer": "m",
        "currency": currency or "?",
        "moq": raw.get("moq"),
        "capacity": raw.get("capacity"),
        "tiers": raw.get("tiers"),
    }
    parsed = None
    try:
        parsed = parse_pool(
            {
                "cleared_at": "2000-01-01T00:00:00Z",
                "currency": currency or "?",
                "manufacturers": [{"id": "m", "capacity": 0}],
                "offers": [model_offer],
                "commitments": [],
            }
        ).offers[0]
    except PoolInputError as exc:
        problems.extend(exc.problems)
    times = {
        k: _time(raw, k, where, problems)
        for k in ("deadline", "production_start", "delivery_start", "delivery_end")
    }
    d, p, s, e = (times[k] for k in ("deadline", "production_start", "delivery_start", "delivery_end"))
    if d and p and p < d:
        problems.append(f"{where}: production starts ({_ts(p)}) before the commitment deadline ({_ts(d)})")
    if p and s and s < p:
        problems.append(f"{where}: delivery starts ({_ts(s)}) before production ({_ts(p)})")
    if s and e and e < s:
        problems.append(f"{where}: the delivery window ends ({_ts(e)}) before it starts ({_ts(s)})")
    if parsed is not None and mcap and mcap < parsed.moq:
        problems.append(f"{where}: manufacturer_capacity {mcap} is below the MOQ {parsed.moq}")
    if problems:
        raise PoolInputError(problems)
    assert parsed is not None and d and p and s and e and isinstance(mcap, int)
    return PoolOffer(
        bpp_id=bpp_id,
        item_id=item_id,
        provider_id=provider_id,
        pool=pool,
        coordinator=coordinator.rstrip("/"),
        name=name,
        currency=currency,
        tiers=parsed.tiers,
        moq=parsed.moq,
        capacity=parsed.capacity,
        manufacturer_capacity=mcap,
        deadline=d,
        production_start=p,
        delivery_start=s,
        delivery_end=e,
        cities=tuple(cities),
        bpp_uri=bpp_uri,
    )


# -- money as Beckn decimals ---------------------------------------------------------------------


def to_decimal(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**MINOR_DIGITS)
    return f"{sign}{whole}.{frac:0{MINOR_DIGITS}d}"


def from_decimal(text: str) -> int:
    """A decimal string in major units to integer minor units; ValueError when not exact."""
    try:
        value = Decimal(text) * 10**MINOR_DIGITS
    except InvalidOperation:
        raise ValueError(f"not a decimal: {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} has more than {MINOR_DIGITS} decimal places")
    return int(value)


# -- live progress -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an offer stands: units committed by buyers who list it, the tier that reaches."""

    offer: str
    committed: int  # units of live commitments listing this offer (first choice or substitute)
    first_choice: int  # of which, units of commitments listing it first
    tier: int | None  # index of the tier the committed units reach (None: below the first tier)
    unit_price: int | None  # that tier's unit price
    next_tier_at: int | None  # the next tier's threshold (None: on the last tier)
    to_next_tier: int | None  # units still needed to reach it
    moq: int
    to_moq: int  # units still needed to reach the MOQ (0 when reached)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def progress(offer: PoolOffer, commitments: Iterable[tuple[int, Sequence[str]]]) -> Progress:
    """Progress of ``offer`` given live commitments as (quantity, offer ids in order of preference)."""
    committed = first = 0
    for quantity, offers in commitments:
        if offer.id in offers:
            committed += quantity
            if offers and offers[0] == offer.id:
                first += quantity
    tier: int | None = None
    for i, t in enumerate(offer.tiers):
        if committed >= t.min_quantity:
            tier = i
    nxt = 0 if tier is None else tier + 1
    next_at = offer.tiers[nxt].min_quantity if nxt < len(offer.tiers) else None
    return Progress(
        offer=offer.id,
        committed=committed,
        first_choice=first,
        tier=tier,
        unit_price=None if tier is None else offer.tiers[tier].unit_price,
        next_tier_at=next_at,
        to_next_tier=None if next_at is None else next_at - committed,
        moq=offer.moq,
        to_moq=max(0, offer.moq - committed),
    )


# -- the Beckn tag layout ------------------------------------------------------------------------


def _group(code: str, values: Mapping[str, str]) -> dict[str, Any]:
    return {
        "descriptor": {"code": code},
        "list": [{"descriptor": {"code": k}, "value": v} for k, v in values.items()],
    }


def to_tags(offer: PoolOffer, live: Progress | None = None, state: str = "open") -> list[dict[str, Any]]:
    """The two tag groups that mark a catalog item as a pool offer (docs/pools.md, "Tag layout")."""
    values = {
        "offer": offer.id,
        "pool": offer.pool,
        "coordinator": offer.coordinator,
        "state": state,
        "currency": offer.currency,
        "moq": str(offer.moq),
        "capacity": str(offer.capacity),
        "manufacturer_capacity": str(offer.manufacturer_capacity),
        "deadline": _ts(offer.deadline),
        "production_start": _ts(offer.production_start),
        "delivery_start": _ts(offer.delivery_start),
        "delivery_end": _ts(offer.delivery_end),
        "cities": ",".join(offer.cities),
    }
    if live is not None:
        values["committed"] = str(live.committed)
        values["current_tier"] = "" if live.tier is None else str(live.tier)
        values["to_next_tier"] = "" if live.to_next_tier is None else str(live.to_next_tier)
    tiers = {str(t.min_quantity): to_decimal(t.unit_price) for t in offer.tiers}
    return [_group(POOL_TAG, values), _group(TIERS_TAG, tiers)]


def _tag_values(groups: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for g in groups if isinstance(groups, list) else []:
        code = (g.get("descriptor") or {}).get("code") if isinstance(g, dict) else None
        if not isinstance(code, str):
            continue
        vals: dict[str, str] = {}
        for t in g.get("list") or []:
            k = (t.get("descriptor") or {}).get("code") if isinstance(t, dict) else None
            if isinstance(k, str) and isinstance(t.get("value"), str):
                vals[k] = t["value"]
        out[code] = vals
    return out


def is_pool_item(item: Mapping[str, Any]) -> bool:
    return POOL_TAG in _tag_values(item.get("tags"))


def from_tags(item: Mapping[str, Any], bpp_id: str, provider_id: str, bpp_uri: str = "") -> PoolOffer:
    """Read a pool offer back from a Beckn catalog item (an on_search or gateway index result)."""
    tags = _tag_values(item.get("tags"))
    if POOL_TAG not in tags:
        raise PoolInputError([f"item {item.get('id')!r} is not a pool offer (no {POOL_TAG!r} tag group)"])
    p = tags[POOL_TAG]
    problems: list[str] = []
    tiers = []
    for k, v in tags.get(TIERS_TAG, {}).items():
        try:
            tiers.append({"min_quantity": int(k), "unit_price": from_decimal(v)})
        except ValueError as exc:
            problems.append(f"item {item.get('id')!r}: tier {k!r}: {exc}")
    tiers.sort(key=lambda t: t["min_quantity"])

    def num(key: str) -> int | None:
        try:
            return int(p.get(key, ""))
        except ValueError:
            problems.append(f"item {item.get('id')!r}: tag pool.{key} must be an integer")
            return None

    doc = {
        "bpp_id": bpp_id,
        "bpp_uri": bpp_uri,
        "item_id": item.get("id"),
        "provider_id": provider_id,
        "pool": p.get("pool"),
        "coordinator": p.get("coordinator"),
        "name": ((item.get("descriptor") or {}).get("name")) or "",
        "currency": p.get("currency"),
        "moq": num("moq"),
        "capacity": num("capacity"),
        "manufacturer_capacity": num("manufacturer_capacity"),
        "tiers": tiers,
        "deadline": p.get("deadline"),
        "production_start": p.get("production_start"),
        "delivery_start": p.get("delivery_start"),
        "delivery_end": p.get("delivery_end"),
        "cities": [c for c in p.get("cities", "").split(",") if c],
    }
    if problems:
        raise PoolInputError(problems)
    return offer_from_doc(doc)


def with_coordinator(offer: PoolOffer, url: str) -> PoolOffer:
    return replace(offer, coordinator=url.rstrip("/"))

"""Demand pools on a manufacturer's node: offers, commitments, clearing at the deadline, and after.

* A **pool** has a deadline, the node's total capacity in it, and who clears it: this node (a pool
  of this manufacturer only) or a coordinator (``mercato pool serve``) for pools whose buyers list
  substitutes from several manufacturers.
* A **pool offer** is a catalog item plus the node's signed offer document; on_search and the
  gateway index show it with the ``pool`` / ``pool_tiers`` tags (:mod:`mercato.pools.offers`).
  With a coordinator, the node sends it the signed offer.
* **Commitments** and revocations arrive signed by a buyer app (``POST /pool/commitments``,
  ``POST /pool/revocations``); the key is looked up in the registry, then the pool's book decides.
* At the deadline (or ``POST /admin/pools/{id}/clear``) the node clears its own pool; for a pool with
  a coordinator it fetches the published input and result, **re-runs the clearing to verify it**, and
  only then applies it. Applying: each running offer becomes a production order, the item's price
  becomes the cleared tier price and the run's units are stocked for the accepted buyers (who then
  order through the normal select/init/confirm); offers that do not run leave the catalog.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from mercato.pools.book import run_clearing
from mercato.pools.model import PoolInputError
from mercato.pools.offers import PoolOffer, Progress, offer_from_doc, offer_id, to_tags
from mercato.pools.signed import (
    Signed,
    commitment_transaction_id,
    parse_body,
    rfc3339,
    sign_doc,
)
from mercato.pools.verify import verify
from mercato.protocol.keys import KeyPair
from mercato.seller.config import SellerConfig
from mercato.seller.domain import Descriptor, Item, Money
from mercato.seller.store import Store
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import pools as sp
from mercato.seller.store import stock as store_stock
from mercato.transport.lookup import LookupCache
from mercato.transport.signer import SignerRefused, check_signer

log = logging.getLogger("mercato.seller.pools")
TIME_LIMIT_S = 10.0
SIGNATURE_VALIDITY = timedelta(days=365)


class PoolHost(Protocol):
    config: SellerConfig
    store: Store
    keys: KeyPair
    lookup: LookupCache

    def catalog_changed(self) -> None: ...


class PoolRefused(Exception):
    """A pool request refused: ``status`` is the HTTP status, ``problems`` say why."""

    def __init__(self, status: int, problems: list[str] | str) -> None:
        self.status = status
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def now() -> datetime:
    return datetime.now(UTC)


def _pool(store: Store, pool_id: str) -> sp.PoolRow:
    row = sp.get_pool(store, pool_id)
    if row is None:
        raise PoolRefused(404, f"unknown pool {pool_id!r}")
    return row


# -- the manufacturer's side ---------------------------------------------------------------------


def create_pool(
    host: PoolHost, pool_id: str, deadline: datetime, capacity: int, coordinator: str | None
) -> sp.PoolRow:
    t = now()
    if deadline.tzinfo is None:
        raise PoolRefused(422, "deadline needs a time zone offset")
    if deadline <= t:
        raise PoolRefused(422, f"the deadline {rfc3339(deadline)} has passed")
    if capacity < 1:
        raise PoolRefused(422, "capacity must be at least 1")
    if coordinator is not None and not coordinator.startswith(("http://", "https://")):
        raise PoolRefused(422, f"coordinator must be an http(s) URL, got {coordinator!r}")
    try:
        return sp.put_pool(
            host.store, pool_id, deadline, capacity, coordinator and coordinator.rstrip("/"), t
        )
    except ValueError as exc:
        raise PoolRefused(409, str(exc)) from None


def create_offer(host: PoolHost, pool_id: str, item_id: str, spec: dict[str, Any]) -> PoolOffer:
    """Put ``item_id`` in the catalog as a pool offer of ``pool_id`` (``spec``: see admin/pools.py)."""
    pool = _pool(host.store, pool_id)
    if pool.state != sp.OPEN:
        raise PoolRefused(409, f"pool {pool_id!r} is {pool.state}: it takes no new offers")
    cfg = host.config
    doc = {
        "bpp_id": cfg.subscriber_id,
        "bpp_uri": cfg.public_url,
        "item_id": item_id,
        "provider_id": spec.get("provider_id") or cfg.store.provider_id,
        "pool": pool_id,
        "coordinator": pool.coordinator or cfg.public_url,
        "name": spec.get("name", ""),
        "manufacturer_capacity": pool.capacity,
        "currency": spec.get("currency", "INR"),
        "moq": spec.get("moq"),
        "capacity": spec.get("capacity"),
        "tiers": spec.get("tiers"),
        "deadline": rfc3339(pool.deadline),
        "production_start": spec.get("production_start"),
        "delivery_start": spec.get("delivery_start"),
        "delivery_end": spec.get("delivery_end"),
        "cities": spec.get("cities") or list(cfg.cities),
    }
    try:
        offer = offer_from_doc(doc)
    except PoolInputError as exc:
        raise PoolRefused(422, exc.problems) from None
    s = sign_doc(
        {"kind": "offer", "offer": offer.to_doc()},
        host.keys.signing,
        cfg.subscriber_id,
        cfg.unique_key_id,
        valid_until=offer.deadline + SIGNATURE_VALIDITY,
    )
    signed = Signed(s.body, s.signature, host.keys.signing_public_key)
    with host.store.read() as session:
        book = sp.load_book(session, pool_id)
    try:
        book.add_offer(signed)
    except PoolInputError as exc:
        raise PoolRefused(409, exc.problems) from None
    location = spec.get("location_id") or cfg.store.location_id
    item = Item(
        id=item_id,
        provider_id=offer.provider_id,
        descriptor=Descriptor(offer.name, spec.get("short_desc", ""), spec.get("long_desc", "")),
        price=Money(offer.tiers[0].unit_price, offer.currency),
        category_id=spec.get("category_id"),
        tax_rate_bp=int(spec.get("tax_rate_bp", 0)),
        time_to_ship=max(timedelta(0), offer.delivery_start - now()),
        max_quantity=offer.capacity,
        location_ids=(location,),
    )
    store_catalog.put_item(host.store, item, now())
    try:
        sp.put_offer(host.store, pool_id, item_id, signed, now())
    except ValueError as exc:
        raise PoolRefused(409, str(exc)) from None
    host.catalog_changed()
    if pool.coordinator:
        _send_offer(pool.coordinator, signed, host)
    return offer


def _send_offer(coordinator: str, signed: Signed, host: PoolHost) -> None:
    """Hand the signed offer to the pool's coordinator (it checks our key in the registry)."""
    try:
        r = httpx.post(
            f"{coordinator}/pool/offers",
            content=signed.body,
            headers={"Authorization": signed.signature, "Content-Type": "application/json"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        raise PoolRefused(502, f"the coordinator {coordinator} is unreachable: {exc}") from None
    if r.status_code != 200:
        raise PoolRefused(
            502, f"the coordinator {coordinator} refused the offer: HTTP {r.status_code} {r.text[:300]}"
        )


def pool_summary(host: PoolHost, pool_id: str) -> dict[str, Any]:
    pool = _pool(host.store, pool_id)
    with host.store.read() as session:
        book = sp.load_book(session, pool_id)
    return {
        "pool": pool_id,
        "state": pool.state,
        "deadline": rfc3339(pool.deadline),
        "coordinator": pool.coordinator or host.config.public_url,
        "cleared_by": "coordinator" if pool.coordinator else "this node",
        "capacity": pool.capacity,
        "commitments": len(book.live()),
        "offers": [
            {**o.to_doc(), "progress": p.to_dict()}
            for (o, _), p in zip((book.offers[k] for k in sorted(book.offers)), book.progress(), strict=True)
        ],
        "cleared_at": rfc3339(pool.cleared_at) if pool.cleared_at else None,
        "result": _result_summary(pool.result) if pool.result else None,
    }


def _result_summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "objective", "bound", "gap", "runs")
    return {**{k: result.get(k) for k in keys}, "accepted": len(result.get("accepted", [])),
            "rejected": len(result.get("rejected", []))}  # fmt: skip


def pool_tags(store: Store) -> dict[str, list[dict[str, Any]]]:
    """item id -> the pool tag groups of every pool offer, with live progress (for on_search)."""
    items = sp.offer_items(store)
    if not items:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    states = {p.id: p.state for p in sp.pools(store)}
    with store.read() as session:
        for pool_id in sorted(set(items.values())):
            book = sp.load_book(session, pool_id)
            prog: dict[str, Progress] = {p.offer: p for p in book.progress()}
            for offer, _ in book.offers.values():
                out[offer.item_id] = to_tags(offer, prog.get(offer.id), states.get(pool_id, sp.OPEN))
    return out


def pool_order_problem(
    store: Store,
    me: str,
    bap_id: str,
    transaction_id: str,
    lines: list[tuple[str, int]],
    session: Session | None = None,
) -> str | None:
    """Why this basket may not be ordered, or None. A pool offer is ordered only after its pool is
    cleared, and only for an accepted commitment: by its buyer app, in the commitment's transaction
    (``commitment_transaction_id``), for at most its quantity. ``session``: read in the caller's
    transaction."""
    ids = [item_id for item_id, _ in lines]
    pools_by_item = sp.pools_of_items(store, ids) if session is None else sp.pools_of_items_in(session, ids)
    for item_id, quantity in lines:
        pool = pools_by_item.get(item_id)
        if pool is None:
            continue
        if pool.state == sp.OPEN or pool.result is None or pool.input is None:
            return (
                f"{item_id} is a pool offer of pool {pool.id!r}: commit to it at "
                f"{pool.coordinator or 'this node'} (/pool/commitments); orders follow the clearing"
            )
        buyers = {c["id"]: c.get("bap_id") for c in pool.input.get("commitments", [])}
        for a in pool.result.get("accepted", []):
            if (
                a["offer"] == offer_id(me, item_id)
                and buyers.get(a["commitment"]) == bap_id
                and commitment_transaction_id(a["commitment"]) == transaction_id
            ):
                if quantity > a["quantity"]:
                    return f"{item_id}: the accepted commitment is for {a['quantity']} units, not {quantity}"
                break
        else:
            return (
                f"{item_id} was made for the accepted commitments of pool {pool.id!r}; this order is not one"
            )
    return None


# -- commitments (public, signed by buyer apps) ----------------------------------------------------


async def check_signed(
    lookup: LookupCache, body: bytes, authorization: str | None, role: str
) -> tuple[Signed, dict[str, Any]]:
    """A signed pool document as received: canonical JSON, signed with a ``role``'s registered key."""
    try:
        doc = parse_body(body)
    except PoolInputError as exc:
        raise PoolRefused(400, exc.problems) from None
    try:
        signer = await check_signer(lookup, body, authorization, role)
    except SignerRefused as exc:
        raise PoolRefused(exc.status, exc.message) from None
    return Signed(body, signer.authorization, signer.key.signing_public_key), doc


def admit_commitment(store: Store, signed: Signed, doc: dict[str, Any]) -> dict[str, Any]:
    pool_id = doc.get("pool")
    if not isinstance(pool_id, str) or sp.get_pool(store, pool_id) is None:
        raise PoolRefused(404, f"unknown pool {pool_id!r}")
    t = now()
    with store.write() as session:
        book = sp.load_book(session, pool_id)
        try:
            c = book.admit(signed, t)
        except PoolInputError as exc:
            raise PoolRefused(422, exc.problems) from None
        sp.add_commitment(session, pool_id, c.bap_id, c.id, signed, t)
    return {
        "commitment": c.id,
        "pool": pool_id,
        "state": "open",
        "progress": [p.to_dict() for p in book.progress()],
    }


def revoke_commitment(store: Store, signed: Signed, doc: dict[str, Any]) -> dict[str, Any]:
    cid = doc.get("commitment")
    pool_id = sp.pool_of_commitment(store, cid) if isinstance(cid, str) else None
    if pool_id is None:
        raise PoolRefused(404, f"unknown commitment {cid!r}")
    t = now()
    with store.write() as session:
        book = sp.load_book(session, pool_id)
        try:
            book.revoke(signed, t)
        except PoolInputError as exc:
            raise PoolRefused(409, exc.problems) from None
        sp.add_revocation(session, str(cid), signed, t)
    return {"commitment": cid, "pool": pool_id, "state": "revoked"}


def commitment_status(store: Store, cid: str) -> dict[str, Any]:
    pool_id = sp.pool_of_commitment(store, cid)
    if pool_id is None:
        raise PoolRefused(404, f"unknown commitment {cid!r}")
    pool = _pool(store, pool_id)
    with store.read() as session:
        book = sp.load_book(session, pool_id)
    out: dict[str, Any] = {"commitment": cid, "pool": pool_id, "state": "open"}
    if cid in book.revoked:
        out["state"] = "revoked"
    elif pool.result is not None:
        for a in pool.result.get("accepted", []):
            if a["commitment"] == cid:
                out.update(
                    state="accepted", offer=a["offer"], unit_price=a["unit_price"], quantity=a["quantity"]
                )
        for r in pool.result.get("rejected", []):
            if r["commitment"] == cid:
                out.update(state="rejected", reason=r["reason"])
        if out["state"] == "open":
            out.update(state="rejected", reason="expired")
    return out


# -- clearing and after ----------------------------------------------------------------------------


def clear_pool(host: PoolHost, pool_id: str, time_limit: float = TIME_LIMIT_S) -> dict[str, Any]:
    """Clear a pool this node coordinates (at the deadline, or now when the manufacturer says so)."""
    pool = _pool(host.store, pool_id)
    if pool.coordinator:
        raise PoolRefused(
            409, f"pool {pool_id!r} is cleared by the coordinator {pool.coordinator}: settle it instead"
        )
    if pool.state != sp.OPEN:
        raise PoolRefused(409, f"pool {pool_id!r} is already {pool.state}")
    t = now()
    with host.store.read() as session:
        book = sp.load_book(session, pool_id)
    if not book.offers:
        raise PoolRefused(409, f"pool {pool_id!r} has no offers")
    doc = book.clearing_input(t)
    try:
        result = run_clearing(doc, time_limit)
    except PoolInputError as exc:  # never clear invalid input
        raise PoolRefused(422, exc.problems) from None
    _apply(host, pool_id, doc, result, t, sp.CLEARED)
    return result


def settle_pool(host: PoolHost, pool_id: str, time_limit: float = TIME_LIMIT_S) -> dict[str, Any]:
    """Fetch a coordinator's clearing of our pool, verify it by re-running it, then apply it."""
    pool = _pool(host.store, pool_id)
    if not pool.coordinator:
        raise PoolRefused(409, f"pool {pool_id!r} is cleared by this node: clear it instead")
    if pool.state != sp.OPEN:
        raise PoolRefused(409, f"pool {pool_id!r} is already {pool.state}")
    try:
        with httpx.Client(base_url=pool.coordinator, timeout=30) as http:
            ri = http.get(f"/pool/{pool_id}/input")
            rr = http.get(f"/pool/{pool_id}/result")
    except httpx.HTTPError as exc:
        raise PoolRefused(502, f"the coordinator is unreachable: {exc}") from None
    if ri.status_code != 200 or rr.status_code != 200:
        raise PoolRefused(
            409, f"the coordinator has not cleared pool {pool_id!r} yet (HTTP {rr.status_code})"
        )
    doc: dict[str, Any] = ri.json()
    result: dict[str, Any] = rr.json()
    verdict = verify(doc, result, time_limit=time_limit)
    if not verdict.ok:
        raise PoolRefused(502, ["the coordinator's clearing does not verify", *verdict.problems])
    _apply(host, pool_id, doc, result, now(), sp.SETTLED)
    return result


def _apply(
    host: PoolHost, pool_id: str, doc: dict[str, Any], result: dict[str, Any], t: datetime, state: str
) -> None:
    me = host.config.subscriber_id
    with host.store.write() as session:
        row = session.get(sp.PoolRow, pool_id)
        if row is None or row.state != sp.OPEN:
            raise PoolRefused(409, f"pool {pool_id!r} was cleared meanwhile")
        sp.save_clearing(session, pool_id, doc, result, t, state)
    runs = {r["offer"]: r for r in result.get("runs", [])}
    for o in doc.get("offers", []):
        if o.get("bpp_id") != me:
            continue
        offer = offer_from_doc({k: v for k, v in o.items() if k != "manufacturer"})
        run = runs.get(offer.id)
        if run is None:
            store_catalog.deactivate_item(host.store, offer.item_id, t)
            continue
        production = sp.ProductionOrder(
            sp.production_id(pool_id, offer.item_id),
            offer.item_id,
            run["quantity"],
            offer.production_start,
            offer.delivery_start,
            offer.delivery_end,
            f"pool:{pool_id}",
            unit_price=run["unit_price"],
            currency=offer.currency,
        )
        sp.record_production(host.store, production, t)
        item = store_catalog.load_all(host.store, active_only=False).items[offer.item_id]
        cleared = dataclasses.replace(item, price=Money(run["unit_price"], offer.currency), price_breaks=())
        store_catalog.put_item(host.store, cleared, t)
        location = item.location_ids[0] if item.location_ids else host.config.store.location_id
        store_stock.receive(
            host.store,
            offer.item_id,
            location,
            run["quantity"],
            t,
            f"pool {pool_id} run (made to order)",
            production.id,
        )
    host.catalog_changed()


async def deadline_loop(host: PoolHost, stop: asyncio.Event, every_s: float = 1.0) -> None:
    """Clear (or settle) each open pool once its deadline has passed; retry what fails."""
    retry_at: dict[str, datetime] = {}
    while not stop.is_set():
        try:
            due = [
                p
                for p in await asyncio.to_thread(sp.pools, host.store)
                if p.state == sp.OPEN and p.deadline <= now()
            ]
            for p in due:
                if retry_at.get(p.id, p.deadline) > now():
                    continue
                try:
                    await asyncio.to_thread(settle_pool if p.coordinator else clear_pool, host, p.id)
                    log.info("pool %s cleared", p.id)
                except PoolRefused as exc:
                    retry_at[p.id] = now() + timedelta(seconds=5)
                    log.warning("pool %s not cleared yet: %s", p.id, exc)
        except Exception:  # noqa: BLE001 - the loop must survive a bad moment of the database
            log.exception("pool deadline loop")
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass

"""Demand pools in the buyer SDK: ``Pools(client)`` commits, revokes, follows progress and settles.

::

    async with Client(url, token) as client:
        pools = Pools(client)
        offer = pool_offers(results)[0]              # pool offers among search results
        c = await pools.commit(offer, quantity=3, max_unit_price=95_000,
                               expires_at=datetime.now(UTC) + timedelta(days=7))
        await pools.progress(offer.coordinator, offer.pool)
        settled = await pools.settle(offer.coordinator, offer.pool, billing=..., fulfillment=...)

The buyer node signs every commitment with its own key; see docs/pools.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mercato.buyer.sdk.client import Client
from mercato.buyer.sdk.types import SearchResult
from mercato.pools.model import PoolInputError
from mercato.pools.offers import POOL_TAG, TIERS_TAG, PoolOffer, from_tags
from mercato.pools.signed import rfc3339


@dataclass(frozen=True)
class Commitment:
    id: str
    pool: str
    coordinator: str
    document: dict[str, Any]
    progress: list[dict[str, Any]] = field(default_factory=list)


def _group(code: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "descriptor": {"code": code},
        "list": [{"descriptor": {"code": k}, "value": v} for k, v in values.items() if isinstance(v, str)],
    }


def pool_offers(results: Iterable[SearchResult]) -> list[PoolOffer]:
    """The pool offers among search results (items with the ``pool`` tag group), deduplicated."""
    out: dict[str, PoolOffer] = {}
    for r in results:
        for it in r.items:
            if not it.pool:
                continue
            tags = [_group(POOL_TAG, it.pool), _group(TIERS_TAG, it.pool.get("tiers") or {})]
            item = {"id": it.id, "descriptor": {"name": it.name or ""}, "tags": tags}
            try:
                offer = from_tags(item, r.bpp_id, r.provider_id or "", r.bpp_uri)
            except PoolInputError:
                continue
            out.setdefault(offer.id, offer)
    return list(out.values())


class Pools:
    def __init__(self, client: Client, deadline: float = 30.0) -> None:
        self.client = client
        self.deadline = deadline

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.client._call("POST", path, body, self.deadline)  # noqa: SLF001

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        return await self.client._call("GET", path, params, self.deadline)  # noqa: SLF001

    async def commit(
        self,
        offers: PoolOffer | Sequence[PoolOffer],
        *,
        quantity: int,
        max_unit_price: int,
        expires_at: datetime,
    ) -> Commitment:
        """Commit to buy ``quantity`` at no more than ``max_unit_price`` (minor units) from any of
        ``offers`` (most preferred first; substitutes must be in the same pool)."""
        listed = [offers] if isinstance(offers, PoolOffer) else list(offers)
        if not listed:
            raise ValueError("commit to at least one offer")
        first = listed[0]
        got = await self._post(
            "/api/pools/commit",
            {
                "coordinator": first.coordinator,
                "pool": first.pool,
                "offers": [o.id for o in listed],
                "quantity": quantity,
                "max_unit_price": max_unit_price,
                "currency": first.currency,
                "expires_at": rfc3339(expires_at),
            },
        )
        return Commitment(
            got["commitment"], first.pool, first.coordinator, got["document"], got.get("progress", [])
        )

    async def revoke(self, commitment: Commitment) -> dict[str, Any]:
        got: dict[str, Any] = await self._post(
            "/api/pools/revoke", {"coordinator": commitment.coordinator, "commitment": commitment.id}
        )
        return got

    async def progress(self, coordinator: str, pool: str) -> dict[str, Any]:
        """The pool with, per offer, committed units, current tier and units to the next tier."""
        got: dict[str, Any] = await self._get(
            "/api/pools/progress", {"coordinator": coordinator, "pool": pool}
        )
        return got

    async def status(self, commitment: Commitment) -> dict[str, Any]:
        """open, revoked, accepted (offer, unit price) or rejected (reason)."""
        got: dict[str, Any] = await self._get(
            "/api/pools/commitment", {"coordinator": commitment.coordinator, "id": commitment.id}
        )
        return got

    async def settle(
        self,
        coordinator: str,
        pool: str,
        *,
        billing: dict[str, Any],
        fulfillment: dict[str, Any] | None = None,
        payment: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """After the clearing: verify it, order every accepted commitment, learn why others were rejected."""
        body: dict[str, Any] = {"coordinator": coordinator, "pool": pool, "billing": billing}
        if fulfillment is not None:
            body["fulfillment"] = fulfillment
        if payment is not None:
            body["payment"] = payment
        got: dict[str, Any] = await self._post("/api/pools/settle", body)
        return got

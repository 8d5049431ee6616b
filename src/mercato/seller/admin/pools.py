"""Admin routes for demand pools (under ``/admin``, behind the admin bearer token).

``PUT /admin/pools/{pool_id}`` (deadline, capacity, coordinator),
``PUT /admin/pools/{pool_id}/offers/{item_id}`` (a catalog item offered in the pool, with tiers,
MOQ, capacity and dates), ``GET /admin/pools``,
``GET /admin/pools/{pool_id}`` (offers with live progress; the result once cleared),
``POST /admin/pools/{pool_id}/clear`` (clear now, before the deadline), ``POST /admin/pools/{pool_id}/settle``
(fetch, verify and apply a coordinator's clearing) and ``GET /admin/production-orders``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from mercato.seller import pools
from mercato.seller.store import pools as store_pools


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolIn(_Strict):
    deadline: datetime = Field(description="commitment deadline (RFC 3339 with offset)")
    capacity: int = Field(ge=1, description="this node's total units across its offers in the pool")
    coordinator: str | None = Field(
        default=None, description="base URL of a pool coordinator; none: this node clears the pool"
    )


class TierIn(_Strict):
    min_quantity: int
    unit_price: int = Field(description="minor units")


class PoolOfferIn(_Strict):
    name: str = Field(min_length=1)
    short_desc: str = ""
    long_desc: str = ""
    category_id: str | None = None
    provider_id: str | None = None
    location_id: str | None = None
    currency: str = "INR"
    tax_rate_bp: int = Field(default=0, ge=0, le=10_000)
    tiers: list[TierIn]
    moq: int
    capacity: int
    production_start: str
    delivery_start: str
    delivery_end: str
    cities: list[str] = []


def _http(exc: pools.PoolRefused) -> HTTPException:
    return HTTPException(exc.status, {"problems": exc.problems, "message": str(exc)})


def pool_admin_router(host: pools.PoolHost) -> APIRouter:
    r = APIRouter()

    @r.put("/pools/{pool_id}", summary="Create a demand pool (or change it while it has no offers)")
    def put_pool(pool_id: str, body: PoolIn) -> dict[str, Any]:
        try:
            pools.create_pool(host, pool_id, body.deadline, body.capacity, body.coordinator)
            return pools.pool_summary(host, pool_id)
        except pools.PoolRefused as exc:
            raise _http(exc) from None

    @r.put("/pools/{pool_id}/offers/{item_id}", summary="Offer a catalog item in the pool")
    def put_offer(pool_id: str, item_id: str, body: PoolOfferIn) -> dict[str, Any]:
        try:
            offer = pools.create_offer(host, pool_id, item_id, body.model_dump())
        except pools.PoolRefused as exc:
            raise _http(exc) from None
        return offer.to_doc()

    @r.get("/pools", summary="Every pool of this node")
    def list_pools() -> list[dict[str, Any]]:
        return [pools.pool_summary(host, p.id) for p in store_pools.pools(host.store)]

    @r.get("/pools/{pool_id}", summary="A pool: offers with live progress, and the result once cleared")
    def get_pool(pool_id: str) -> dict[str, Any]:
        try:
            return pools.pool_summary(host, pool_id)
        except pools.PoolRefused as exc:
            raise _http(exc) from None

    @r.post("/pools/{pool_id}/clear", summary="Clear the pool now (this node's own pools)")
    def clear(pool_id: str, time_limit: float = 10.0) -> dict[str, Any]:
        try:
            return pools.clear_pool(host, pool_id, min(max(time_limit, 0.1), 300.0))
        except pools.PoolRefused as exc:
            raise _http(exc) from None

    @r.post("/pools/{pool_id}/settle", summary="Fetch, verify and apply the coordinator's clearing")
    def settle(pool_id: str) -> dict[str, Any]:
        try:
            return pools.settle_pool(host, pool_id)
        except pools.PoolRefused as exc:
            raise _http(exc) from None

    @r.get("/production-orders", summary="Production orders (one per pool offer that runs)")
    def production_orders(source: str | None = None) -> list[dict[str, Any]]:
        return [p.to_dict() for p in store_pools.production_orders(host.store, source)]

    return r

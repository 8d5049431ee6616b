"""The node's public pool routes: it coordinates its own pools (signed commitments in, progress and the
published clearing out). The same surface as ``mercato pool serve``; see docs/pools.md."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from mercato.seller import pools
from mercato.seller.store import pools as store_pools


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _refused(exc: pools.PoolRefused) -> Response:
    return _json({"error": {"message": str(exc), "problems": exc.problems}}, exc.status)


def pool_router(host: pools.PoolHost) -> APIRouter:
    r = APIRouter(prefix="/pool", tags=["pools"])

    async def signed(request: Request, role: str) -> tuple[Any, dict[str, Any]]:
        body = await request.body()
        return await pools.check_signed(host.lookup, body, request.headers.get("authorization"), role)

    @r.post("/commitments", summary="A buyer app's signed commitment")
    async def commit(request: Request) -> Response:
        try:
            s, doc = await signed(request, "BAP")
            if doc.get("kind") != "commitment":
                raise pools.PoolRefused(400, "kind must be 'commitment'")
            return _json(await asyncio.to_thread(pools.admit_commitment, host.store, s, doc))
        except pools.PoolRefused as exc:
            return _refused(exc)

    @r.post("/revocations", summary="A buyer app's signed revocation of its commitment")
    async def revoke(request: Request) -> Response:
        try:
            s, doc = await signed(request, "BAP")
            if doc.get("kind") != "revocation":
                raise pools.PoolRefused(400, "kind must be 'revocation'")
            return _json(await asyncio.to_thread(pools.revoke_commitment, host.store, s, doc))
        except pools.PoolRefused as exc:
            return _refused(exc)

    @r.get("/commitments/{cid}", summary="A commitment's state: open, revoked, accepted or rejected (reason)")
    async def status(cid: str) -> Response:
        try:
            return _json(await asyncio.to_thread(pools.commitment_status, host.store, cid))
        except pools.PoolRefused as exc:
            return _refused(exc)

    @r.get("/{pool_id}", summary="The pool: offers with live progress")
    async def summary(pool_id: str) -> Response:
        try:
            return _json(await asyncio.to_thread(pools.pool_summary, host, pool_id))
        except pools.PoolRefused as exc:
            return _refused(exc)

    async def published(pool_id: str, what: str) -> Response:
        row = await asyncio.to_thread(store_pools.get_pool, host.store, pool_id)
        if row is None:
            return _refused(pools.PoolRefused(404, f"unknown pool {pool_id!r}"))
        data = row.input if what == "input" else row.result
        if data is None:
            return _refused(pools.PoolRefused(404, f"pool {pool_id!r} is not cleared yet"))
        return _json(data)

    @r.get("/{pool_id}/input", summary="The published clearing input, with every signed document")
    async def get_input(pool_id: str) -> Response:
        return await published(pool_id, "input")

    @r.get("/{pool_id}/result", summary="The published clearing result")
    async def get_result(pool_id: str) -> Response:
        return await published(pool_id, "result")

    return r

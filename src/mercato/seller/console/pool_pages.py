"""Demand pools in the console: every pool with its offers' live progress towards MOQ and the next
price tier, commitments, the clearing result, and the merchant's two buttons — clear now (pools this
node coordinates) and settle (fetch, verify by re-running, apply a coordinator's clearing). They call
the same functions as the admin API (``mercato.seller.pools``)."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.seller import pools
from mercato.seller.store import pools as store_pools

from .core import Console, fields


def _host(console: Console) -> pools.PoolHost:
    return cast(pools.PoolHost, console.host)  # the seller node: it has keys and a registry lookup


MAX_COMMITMENTS = 200  # per pool on the page


def commitment_rows(console: Console, pool: store_pools.PoolRow) -> list[dict[str, Any]]:
    """A pool's commitments with their state: open, revoked, or (once cleared) accepted at a price or
    rejected with the clearing's reason."""
    with console.host.store.read() as session:
        book = store_pools.load_book(session, pool.id)
    result = pool.result or {}
    accepted = {a["commitment"]: a for a in result.get("accepted", [])}
    rejected = {r["commitment"]: r.get("reason", "") for r in result.get("rejected", [])}
    rows = []
    for cid, (c, _) in sorted(book.commitments.items(), key=lambda kv: kv[1][0].created_at)[:MAX_COMMITMENTS]:
        if cid in book.revoked:
            state, detail = "revoked", ""
        elif cid in accepted:
            a = accepted[cid]
            state, detail = "accepted", f"{a['quantity']} at {a['unit_price']}"
        elif cid in rejected:
            state, detail = "rejected", rejected[cid].replace("_", " ")
        else:
            state, detail = ("open", "") if pool.result is None else ("rejected", "expired")
        rows.append(
            {
                "id": cid,
                "bap_id": c.bap_id,
                "quantity": c.quantity,
                "max_unit_price": c.max_unit_price,
                "currency": c.currency,
                "offers": [o.rsplit("/", 1)[-1] for o in c.offers],
                "created_at": c.created_at,
                "state": state,
                "detail": detail,
                "unit_price": accepted[cid]["unit_price"] if cid in accepted else None,
            }
        )
    return rows


def pool_views(console: Console) -> list[dict[str, Any]]:
    host = _host(console)
    out = []
    for p in store_pools.pools(host.store):
        view = pools.pool_summary(host, p.id)
        view["commitment_rows"] = commitment_rows(console, p)
        out.append(view)
    return out


def production_views(console: Console) -> list[dict[str, Any]]:
    return [p.to_dict() for p in store_pools.production_orders(console.host.store)]


def add_pool_routes(r: APIRouter, console: Console) -> None:
    async def page(
        request: Request, ctx: Any, extra: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        views = await run_in_threadpool(pool_views, console)
        production = await run_in_threadpool(production_views, console)
        context = {"title": "Demand pools", "pools": views, "production": production, **(extra or {})}
        return console.page(request, ctx, "pools.html", context, current="pools", status=status)

    @r.get("/pools")
    async def pools_page(request: Request) -> Response:
        ctx = console.session_of(request)
        return await page(request, ctx)

    @r.post("/pools/{pool_id}/{step}")
    async def pool_step(request: Request, pool_id: str, step: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        fields(form)
        if step not in ("clear", "settle"):
            return await page(
                request, ctx, {"messages": [{"kind": "error", "text": f"Unknown step {step[:20]!r}."}]}, 404
            )
        fn = pools.clear_pool if step == "clear" else pools.settle_pool
        try:
            result = await run_in_threadpool(fn, _host(console), pool_id)
        except pools.PoolRefused as exc:
            text = f"Pool {pool_id}: " + "; ".join(exc.problems)
            return await page(
                request,
                ctx,
                {"messages": [{"kind": "error", "text": text}]},
                exc.status if exc.status < 500 else 409,
            )
        accepted = len(result.get("accepted", []))
        text = (
            f"Pool {pool_id} {'cleared' if step == 'clear' else 'settled'}: {accepted} commitments accepted."
        )
        return console.redirect(ctx, "/console/pools", [("ok", text)])

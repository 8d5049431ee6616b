"""Demand pools in the console: every pool with its offers' live progress towards MOQ and the next
price tier, commitments, the clearing result, and the merchant's two buttons — clear now (pools this
node coordinates) and settle (fetch, verify by re-running, apply a coordinator's clearing). They call
the same functions as the admin API (``mercato.seller.pools``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, cast

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.seller import pools
from mercato.seller.store import pools as store_pools

from . import forms
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


ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _id(values: dict[str, str], name: str, errors: forms.Errors) -> str:
    value = forms.text(values, name, errors, max_len=64)
    if value and name not in errors and not ID.match(value):
        errors[name] = "letters, digits, '.', '_' and '-' only (at most 64)"
    return value


def _day(values: dict[str, str], name: str, errors: forms.Errors) -> date | None:
    raw = forms.text(values, name, errors, max_len=10)
    if raw and name not in errors:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors[name] = "a date like 2026-03-02"
    return None


def _when(values: dict[str, str], name: str, errors: forms.Errors) -> datetime | None:
    raw = forms.text(values, name, errors, max_len=25)
    if raw and name not in errors:
        try:
            t = datetime.fromisoformat(raw)
        except ValueError:
            errors[name] = "a date and time like 2026-03-02T18:00 (UTC)"
            return None
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    return None


def parse_tiers(values: dict[str, str], currency: str, errors: forms.Errors) -> list[dict[str, int]]:
    """Price tiers typed one per line as ``from units: unit price`` (``1: 1000``, ``20: 800.50``)."""
    tiers: list[dict[str, int]] = []
    lines = [ln.strip() for ln in (values.get("tiers") or "").splitlines() if ln.strip()]
    if not lines:
        errors["tiers"] = "at least one tier, e.g. 1: 1000"
    for n, ln in enumerate(lines[:20], 1):
        qty, sep, price = ln.partition(":")
        sub: forms.Errors = {}
        q = forms.integer({"q": qty}, "q", sub, minimum=1, maximum=10**9)
        p = forms.money({"p": price}, "p", currency, sub, allow_zero=False) if sep else None
        if not sep or q is None or p is None:
            errors["tiers"] = f"line {n}: write 'from units: unit price', got {ln[:40]!r}"
            break
        tiers.append({"min_quantity": q, "unit_price": p})
    return tiers


def create_pool(console: Console, values: dict[str, str]) -> tuple[forms.Errors, list[str]]:
    errors: forms.Errors = {}
    pool_id = _id(values, "pool_id", errors)
    deadline = _when(values, "deadline", errors)
    capacity = forms.integer(values, "capacity", errors, minimum=1, maximum=10**9)
    coordinator = forms.text(values, "coordinator", errors, required=False, max_len=300) or None
    if errors or deadline is None or capacity is None:
        return errors, []
    try:
        pools.create_pool(_host(console), pool_id, deadline, capacity, coordinator)
    except pools.PoolRefused as exc:
        return {}, exc.problems
    return {}, []


def create_offer(console: Console, values: dict[str, str]) -> tuple[forms.Errors, list[str]]:
    errors: forms.Errors = {}
    currency = console.host.config.store.currency
    pool_id = _id(values, "offer_pool", errors)
    item_id = _id(values, "item_id", errors)
    name = forms.text(values, "name", errors, max_len=200)
    tiers = parse_tiers(values, currency, errors)
    moq = forms.integer(values, "moq", errors, minimum=1, maximum=10**9)
    capacity = forms.integer(values, "offer_capacity", errors, minimum=1, maximum=10**9)
    days = {k: _day(values, k, errors) for k in ("production_start", "delivery_start", "delivery_end")}
    if errors:
        return errors, []
    spec = {
        "name": name,
        "currency": currency,
        "tiers": tiers,
        "moq": moq,
        "capacity": capacity,
        **{k: f"{d.isoformat()}T00:00:00Z" for k, d in days.items() if d is not None},
    }
    try:
        pools.create_offer(_host(console), pool_id, item_id, spec)
    except pools.PoolRefused as exc:
        return {}, exc.problems
    return {}, []


def add_pool_routes(r: APIRouter, console: Console) -> None:
    async def page(
        request: Request, ctx: Any, extra: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        views = await run_in_threadpool(pool_views, console)
        production = await run_in_threadpool(production_views, console)
        context = {
            "title": "Demand pools",
            "pools": views,
            "production": production,
            "values": {},
            "errors": {},
            "open_pools": [(v["pool"], v["pool"]) for v in views if v["state"] == store_pools.OPEN],
            **(extra or {}),
        }
        return console.page(request, ctx, "pools.html", context, current="pools", status=status)

    @r.post("/pools/new")
    async def new_pool(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors, problems = await run_in_threadpool(create_pool, console, values)
        if errors or problems:
            extra = {"values": values, "errors": errors, "form_errors": errors, "pool_problems": problems}
            return await page(request, ctx, extra, 400 if errors else 422)
        done = [("ok", f"Pool {values['pool_id'].strip()} created.")]
        return console.redirect(ctx, "/console/pools", done)

    @r.post("/pools/offers/new")
    async def new_offer(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors, problems = await run_in_threadpool(create_offer, console, values)
        if errors or problems:
            extra = {"values": values, "errors": errors, "form_errors": errors, "offer_problems": problems}
            return await page(request, ctx, extra, 400 if errors else 422)
        text = f"Offer {values['item_id'].strip()} is in pool {values['offer_pool'].strip()} and on sale."
        return console.redirect(ctx, "/console/pools", [("ok", text)])

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

"""The storefront's demand-pool pages (mixed into :class:`mercato.buyer.web.Storefront`): find group
runs, a pool's page with its offers, price tiers and live progress to the next tier, joining with a
quantity and a highest unit price, a share link, the buyer's own commitments with their state, and,
once the pool is cleared, placing the orders of this buyer's accepted commitments.

The node's pool API (:class:`mercato.buyer.pools.PoolApi`) does the work: it signs commitments with
the node's key, talks to the pool's coordinator and verifies the published clearing. The pages add
who is who: each commitment is recorded with the browser session that made it, so two buyers on one
node each see and settle only their own, each with their own address.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mercato.buyer.errors import BuyerError, Unavailable
from mercato.buyer.node import BuyerNode
from mercato.buyer.pools import PoolApi
from mercato.buyer.web_forms import PAYMENT_TERMS, FormError, parse_checkout, parse_quantity
from mercato.buyer.web_search import CITIES, parse_money
from mercato.buyer.web_store import WebStore
from mercato.buyer.web_store_pools import add_commitment, session_commitments
from mercato.pools.verify import verify
from mercato.web.render import Renderer, format_money

POOL_SEARCH = "group run"  # what the pool offers of the seeded manufacturer are called
COMMIT_GRACE = timedelta(days=1)  # a commitment stays valid this long after the pool's deadline

Handler = Callable[[Request, str], Awaitable[Response]]
Wrap = Callable[[Handler], Callable[[Request], Awaitable[Response]]]


async def call_json(handler: Callable[[Request], Awaitable[Response]], body: dict[str, Any]) -> Any:
    """Run one of the local API's JSON handlers in process (its checks and errors included)."""
    raw = orjson.dumps(body)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    response = await handler(Request(scope, receive))
    return orjson.loads(bytes(response.body))


def offer_view(o: dict[str, Any]) -> dict[str, Any]:
    """A coordinator's offer (document + progress) as the page shows it."""
    p = o.get("progress") or {}
    committed = int(p.get("committed") or 0)
    nxt = p.get("next_tier_at")
    tiers = sorted((int(t["min_quantity"]), int(t["unit_price"])) for t in o.get("tiers") or ())
    return {
        **o,
        "tier_list": tiers,
        "committed": committed,
        "tier_price": p.get("unit_price"),
        "next_tier_at": nxt,
        "to_next_tier": p.get("to_next_tier"),
        "next_tier_price": next((price for q, price in tiers if nxt is not None and q == nxt), None),
        "to_moq": p.get("to_moq"),
        "progress_max": max(int(nxt or 0), committed, int(o.get("moq") or 0), 1),
    }


def next_tier_text(v: dict[str, Any]) -> str:
    if not v.get("to_next_tier"):
        return "on the best tier"
    price = v.get("next_tier_price")
    each = f" for {format_money(price, v.get('currency'))} each" if isinstance(price, int) else ""
    return f"{v['to_next_tier']} more units{each}"


def live_fields(summary: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"pool-state": summary.get("state"), "commitments": summary.get("commitments")}
    for o in summary.get("offers") or ():
        v = offer_view(o)
        key = o.get("id", "")
        fields[f"committed:{key}"] = v["committed"]
        fields[f"to-next:{key}"] = next_tier_text(v)
        fields[f"progress:{key}"] = f"{v['committed']}/{v['progress_max']}"
    return fields


class PoolPages:
    node: BuyerNode
    web: WebStore
    renderer: Renderer
    pools: PoolApi | None
    coordinators: set[str]

    def _ctx(self, sid: str, current: str = "", **context: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def run_search(self, text: str, category: str, city: str) -> tuple[list[dict[str, Any]], float]:
        raise NotImplementedError

    def remember_results(
        self, results: list[dict[str, Any]], ratings: dict[tuple[str, str], tuple[float, int]] | None = None
    ) -> list[Any]:
        raise NotImplementedError

    def pool_routes(self, s: Wrap) -> list[BaseRoute]:
        return [
            Route("/pools", s(self.pools_page), methods=["GET"]),
            Route("/pools/{pool}", s(self.pool_page), methods=["GET"]),
            Route("/pools/{pool}/live", s(self.pool_live), methods=["GET"]),
            Route("/pools/{pool}/join", s(self.pool_join), methods=["POST"]),
            Route("/pools/{pool}/revoke", s(self.pool_revoke), methods=["POST"]),
            Route("/pools/{pool}/settle", s(self.pool_settle), methods=["POST"]),
        ]

    # --- helpers ----------------------------------------------------------------------------

    def _api(self) -> PoolApi:
        if self.pools is None:
            raise Unavailable("demand pools are not enabled on this buyer node")
        return self.pools

    def _coordinator(self, request: Request) -> str | None:
        """The pool's coordinator from the link, if this node has seen it in a search result (the
        node only talks to coordinators sellers named, never to any URL a link names)."""
        c = (request.query_params.get("c") or "").rstrip("/")
        return c if c in self.coordinators else None

    async def _summary(self, coordinator: str, pool: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._api()._get(f"{coordinator}/pool/{pool}")  # noqa: SLF001
        return data

    async def _states(self, coordinator: str, mine: list[dict[str, Any]]) -> None:
        for c in mine:
            try:
                st = await self._api()._get(f"{coordinator}/pool/commitments/{c['id']}")  # noqa: SLF001
                c["state"], c["reason"] = st.get("state"), st.get("reason")
            except BuyerError:
                c["state"], c["reason"] = "unknown", None

    def pool_url(self, pool: str, coordinator: str) -> str:
        return f"/pools/{pool}?" + urlencode({"c": coordinator})

    # --- pages ------------------------------------------------------------------------------

    async def pools_page(self, request: Request, sid: str) -> Response:
        q = (request.query_params.get("q") or POOL_SEARCH).strip()[:100]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        messages = []
        try:
            results, _took = await self.run_search(q, "", "")
            for o in self.remember_results(results):
                if o.pool and o.coordinator:
                    g = found.setdefault(
                        (o.coordinator, o.pool),
                        {"pool": o.pool, "url": self.pool_url(o.pool, o.coordinator), "offers": []},
                    )
                    g["offers"].append(o)
        except BuyerError as exc:
            messages.append({"kind": "error", "text": f"Search is unavailable right now: {exc.message}"})
        mine = await asyncio.to_thread(session_commitments, self.node.store.engine, sid)
        for c in mine:
            c["url"] = self.pool_url(c["pool"], c["coordinator"])
        ctx = self._ctx(
            sid,
            "pools",
            title="Group runs",
            pools=list(found.values()),
            mine=mine,
            values={"q": q},
            messages=messages,
        )
        return self.renderer.page(request, "storefront/pools.html", ctx)

    async def pool_page(
        self, request: Request, sid: str, form_errors: dict[str, str] | None = None, values: Any = None
    ) -> Response:
        pool = request.path_params["pool"]
        coordinator = self._coordinator(request)
        if coordinator is None:
            ctx = self._ctx(
                sid,
                "pools",
                title="Group run not found yet",
                text="This buyer node has not seen this group run in a search yet. Search the network "
                "for group runs, then open the link again.",
                link=("/pools", "Find group runs"),
            )
            return self.renderer.page(request, "storefront/message.html", ctx, status=404)
        try:
            summary = await self._summary(coordinator, pool)
        except Unavailable:
            ctx = self._ctx(
                sid,
                "pools",
                title="The group run is unavailable",
                text="Its coordinator does not answer right now. Your commitments are kept there; "
                "try again later.",
                link=("/pools", "Group runs"),
            )
            return self.renderer.page(request, "storefront/message.html", ctx, status=503)
        mine = await asyncio.to_thread(session_commitments, self.node.store.engine, sid, pool)
        await self._states(coordinator, mine)
        share = str(request.base_url).rstrip("/") + self.pool_url(pool, coordinator)
        ctx = self._ctx(
            sid,
            "pools",
            title=f"Group run {pool}",
            summary=summary,
            offers=[offer_view(o) for o in summary.get("offers") or ()],
            coordinator=coordinator,
            query=urlencode({"c": coordinator}),
            share=share,
            mine=mine,
            accepted=[c for c in mine if c.get("state") == "accepted"],
            errors=form_errors or {},
            values=values or {"city": "std:080", "payment": "ON-ORDER"},
            cities=list(CITIES.items()),
            payments=list(PAYMENT_TERMS.items()),
        )
        return self.renderer.page(request, "storefront/pool.html", ctx, status=422 if form_errors else 200)

    async def pool_live(self, request: Request, sid: str) -> Response:
        coordinator = self._coordinator(request)
        if coordinator is None:
            return Response(b'{"error": "unknown pool"}', 404, media_type="application/json")
        try:
            summary = await self._summary(coordinator, request.path_params["pool"])
        except BuyerError as exc:
            data = {"fields": {"pool-state": "unavailable"}, "final": False, "error": exc.message}
            return Response(orjson.dumps(data), media_type="application/json")
        final = summary.get("state") not in (None, "open")
        data = {"fields": live_fields(summary), "final": final}
        return Response(
            orjson.dumps(data), media_type="application/json", headers={"Cache-Control": "no-store"}
        )

    async def pool_join(self, request: Request, sid: str) -> Response:
        pool = request.path_params["pool"]
        coordinator = self._coordinator(request)
        form = await request.form()
        if coordinator is None:
            return self.renderer.redirect("/pools", [("error", "That group run is not known here yet.")])
        summary = await self._summary(coordinator, pool)
        offers = {o["id"]: o for o in summary.get("offers") or ()}
        offer = offers.get(str(form.get("offer", "")))
        values = dict(form)
        errors: dict[str, str] = {}
        quantity = max_price = 0
        try:
            quantity = parse_quantity(form.get("quantity"))
        except FormError as exc:
            errors.update(exc.errors)
        price = parse_money(str(form.get("max_price", "")))
        if price is None or price <= 0:
            errors["max_price"] = "Enter the highest unit price you accept, like 850 or 799.50"
        else:
            max_price = price
        if offer is None:
            errors["offer"] = "Choose one of this group run's offers"
        if summary.get("state") != "open":
            errors["offer"] = "This group run no longer takes commitments"
        if errors:
            return await self.pool_page(request, sid, errors, values)
        assert offer is not None  # noqa: S101 - checked above
        deadline = datetime.fromisoformat(str(summary["deadline"]).replace("Z", "+00:00"))
        cid = str(uuid.uuid4())
        body = {
            "coordinator": coordinator,
            "pool": pool,
            "id": cid,
            "offers": [offer["id"]],
            "quantity": quantity,
            "max_unit_price": max_price,
            "currency": offer.get("currency", "INR"),
            "expires_at": (max(deadline, datetime.now(UTC)) + COMMIT_GRACE)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        try:
            await call_json(self._api().commit, body)
        except BuyerError as exc:
            return await self.pool_page(
                request, sid, {"offer": f"The coordinator refused: {exc.message}"}, values
            )
        await asyncio.to_thread(
            add_commitment,
            self.node.store.engine,
            {
                "id": cid,
                "session_id": sid,
                "coordinator": coordinator,
                "pool": pool,
                "offer": offer["id"],
                "name": offer.get("name") or offer["id"],
                "quantity": quantity,
                "max_unit_price": max_price,
                "currency": offer.get("currency", "INR"),
            },
        )
        return self.renderer.redirect(
            self.pool_url(pool, coordinator), [("ok", f"You joined with {quantity} × {offer.get('name')}.")]
        )

    async def pool_revoke(self, request: Request, sid: str) -> Response:
        pool = request.path_params["pool"]
        coordinator = self._coordinator(request)
        form = await request.form()
        mine = await asyncio.to_thread(session_commitments, self.node.store.engine, sid, pool)
        cid = str(form.get("commitment", ""))
        if coordinator is None or cid not in {c["id"] for c in mine}:
            return self.renderer.redirect("/pools", [("error", "No such commitment of yours.")])
        try:
            await call_json(self._api().revoke, {"coordinator": coordinator, "commitment": cid})
        except BuyerError as exc:
            return self.renderer.redirect(self.pool_url(pool, coordinator), [("error", exc.message)])
        return self.renderer.redirect(
            self.pool_url(pool, coordinator), [("ok", "Your commitment is withdrawn.")]
        )

    async def pool_settle(self, request: Request, sid: str) -> Response:
        """Place the orders of this session's accepted commitments, with this buyer's address."""
        pool = request.path_params["pool"]
        coordinator = self._coordinator(request)
        form = await request.form()
        if coordinator is None:
            return self.renderer.redirect("/pools", [("error", "That group run is not known here yet.")])
        checkout, values, errors = parse_checkout(form)
        if checkout is None:
            return await self.pool_page(request, sid, errors, values)
        api = self._api()
        try:
            doc = await api._get(f"{coordinator}/pool/{pool}/input")  # noqa: SLF001
            result = await api._get(f"{coordinator}/pool/{pool}/result")  # noqa: SLF001
        except BuyerError as exc:
            return self.renderer.redirect(self.pool_url(pool, coordinator), [("error", exc.message)])
        verdict = await asyncio.to_thread(verify, doc, result)
        if not verdict.ok:
            return self.renderer.redirect(
                self.pool_url(pool, coordinator),
                [("error", "The published clearing does not verify: no order was placed.")],
            )
        mine = {
            c["id"] for c in await asyncio.to_thread(session_commitments, self.node.store.engine, sid, pool)
        }
        offers = {o["id"]: o for o in doc.get("offers", [])}
        body = {
            "billing": checkout.billing(),
            "fulfillment": checkout.fulfillment(),
            "payment": checkout.payment_terms(),
        }
        placed, failed = 0, []
        for a in result.get("accepted", []):
            if a["commitment"] in mine:
                entry = await api._order(a, offers[a["offer"]], body)  # noqa: SLF001
                if entry.get("order"):
                    placed += 1
                    await asyncio.to_thread(self.web.own_orders, sid, [entry["order"]["id"]])
                else:
                    failed.append((entry.get("error") or {}).get("message", "not placed"))
        messages = [("ok", f"{placed} order{'s' if placed != 1 else ''} placed from the group run.")]
        messages += [("error", f"An order was not placed: {m}") for m in failed]
        return self.renderer.redirect("/orders" if placed else self.pool_url(pool, coordinator), messages)

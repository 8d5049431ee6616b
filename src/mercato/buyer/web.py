"""The web storefront of the buyer node: search the whole network, item pages, a cart per browser
session split per seller, checkout, orders with live status (see :mod:`mercato.buyer.web_orders`).

Server-rendered (Jinja2 templates in ``mercato/web/templates/storefront``) and working without
JavaScript; ``mercato.js`` only adds live status polling and double-submit protection. Every form
carries a CSRF token bound to the session; the session id lives in a signed, long-lived cookie and
the cart in the buyer database, so neither a closed browser nor a node restart loses a cart.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mercato.buyer.errors import BuyerError
from mercato.buyer.node import BuyerNode
from mercato.buyer.ordering import Orders
from mercato.buyer.pools import PoolApi
from mercato.buyer.web_forms import (
    FormError,
    add_line,
    group_by_seller,
    line_total,
    parse_quantity,
    set_quantity,
    unit_price,
)
from mercato.buyer.web_orders import OrderPages
from mercato.buyer.web_pools import PoolPages, next_tier_text
from mercato.buyer.web_search import CITIES, SORTS, Offer, apply, offers_from_results, parse_filters
from mercato.buyer.web_store import WebStore
from mercato.protocol.keys import raw_private
from mercato.web.render import Renderer, environment, static_mount
from mercato.web.security import csrf_ok, csrf_token, new_session_id, sign, unsign

SESSION_COOKIE = "mercato_sid"
SESSION_MAX_AGE_S = 90 * 24 * 3600
SEARCH_DEADLINE_S = 2.5
SEARCH_QUIET_S = 0.6
MAX_REMEMBERED_OFFERS = 20_000
CATEGORIES = (  # the categories of the seeded network; a seller's own category is searched by text
    "Accessories", "Audio", "Bags", "Beverages", "Computing", "Cookware", "Dairy", "Fruit", "Home",
    "Kitchen", "Kurtas", "Oils", "Phones", "Sarees", "Shirts", "Staples", "Storage", "Vegetables",
    "Wearables",
)  # fmt: skip

Handler = Callable[[Request, str], Awaitable[Response]]


class Storefront(OrderPages, PoolPages):
    """The storefront's routes on one buyer node (``routes()`` for the node's app)."""

    def __init__(
        self,
        node: BuyerNode,
        orders: Orders | None = None,
        secret: bytes | None = None,
        pools: PoolApi | None = None,
    ) -> None:
        self.node = node
        self.orders = orders or Orders(node)
        self.pools = pools  # the group-run pages need the node's pool API
        self.coordinators: set[str] = set()  # pool coordinators named in search results
        self.web = WebStore(node.store.engine)
        self.secret = (
            secret or hashlib.sha256(b"mercato-storefront\0" + raw_private(node.config.keys.signing)).digest()
        )
        env = environment(
            globals_={
                "unit_price": unit_price,
                "line_total": line_total,
                "item_url": item_url,
                "next_tier_text": next_tier_text,
            }
        )
        self.renderer = Renderer(env, self.secret, "Mercato", "/")
        self._offers: OrderedDict[tuple[str, str, str], Offer] = OrderedDict()

    def routes(self) -> list[BaseRoute]:
        s = self._session
        return [
            Route("/", s(self.search_page), methods=["GET"]),
            Route("/item/{bpp_id}/{provider_id}/{item_id}", s(self.item_page), methods=["GET"]),
            Route("/cart", s(self.cart_page), methods=["GET"]),
            Route("/cart/add", s(self.cart_add), methods=["POST"]),
            Route("/cart/update", s(self.cart_update), methods=["POST"]),
            *self.order_routes(s),
            *self.pool_routes(s),
            static_mount(),
        ]

    # --- sessions ---------------------------------------------------------------------------

    def _session(self, endpoint: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Give the endpoint the browser's session id (a new one when it has none, or a forged one),
        check the CSRF token of every POST, and keep the session cookie fresh."""

        async def wrapped(request: Request) -> Response:
            sid = unsign(self.secret, request.cookies.get(SESSION_COOKIE), "session")
            fresh = sid is None
            if sid is None:
                sid = new_session_id()
            if request.method == "POST":
                form = await request.form()
                if fresh or not csrf_ok(self.secret, sid, form.get("csrf_token")):
                    response: Response = self.renderer.page(
                        request,
                        "storefront/message.html",
                        self._ctx(
                            sid,
                            title="This form has expired",
                            text="The page was open too long or came from elsewhere. Your cart is kept; "
                            "please go back, reload the page and try again.",
                        ),
                        status=400,
                    )
                    return self._keep(response, sid)
            try:
                response = await endpoint(request, sid)
            except BuyerError as exc:  # a peer failed in a way the page did not expect: say so
                response = self.renderer.page(
                    request,
                    "storefront/message.html",
                    self._ctx(sid, title="Something on the network did not answer", text=exc.message),
                    status=exc.http_status if exc.http_status < 500 else 503,
                )
            return self._keep(response, sid)

        return wrapped

    def _keep(self, response: Response, sid: str) -> Response:
        response.set_cookie(
            SESSION_COOKIE,
            sign(self.secret, sid, "session"),
            max_age=SESSION_MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="lax",
        )
        return response

    def _ctx(self, sid: str, current: str = "", **context: Any) -> dict[str, Any]:
        """The context every page gets: navigation with the cart's size, the CSRF token."""
        count = sum(int(ln.get("quantity", 0)) for ln in self.web.cart(sid))
        nav = [
            {"href": "/", "label": "Search", "current": current == "search"},
            {"href": "/cart", "label": "Cart", "current": current == "cart", "badge": count or None},
            {"href": "/orders", "label": "Orders", "current": current == "orders"},
        ]
        if self.pools is not None:
            nav.insert(1, {"href": "/pools", "label": "Group runs", "current": current == "pools"})
        return {"nav_items": nav, "csrf": csrf_token(self.secret, sid), "values": {}, "errors": {}, **context}

    # --- search and items -------------------------------------------------------------------

    def remember_results(
        self, results: list[dict[str, Any]], ratings: dict[tuple[str, str], tuple[float, int]] | None = None
    ) -> list[Offer]:
        offers = offers_from_results(results, datetime.now(UTC), ratings)
        self.remember(offers)
        return offers

    def remember(self, offers: list[Offer]) -> None:
        for o in offers:
            if o.coordinator:
                self.coordinators.add(o.coordinator)
            self._offers[o.key] = o
            self._offers.move_to_end(o.key)
        while len(self._offers) > MAX_REMEMBERED_OFFERS:
            self._offers.popitem(last=False)

    async def run_search(self, text: str, category: str, city: str) -> tuple[list[dict[str, Any]], float]:
        started = time.monotonic()
        handle = await self.node.start_search(
            text=text or None,
            category=category or None,
            city=city or None,
            mode="both",
            deadline_s=SEARCH_DEADLINE_S,
        )
        results: list[dict[str, Any]] = []
        stream = self.node.search_results(handle)
        try:
            while True:
                # the page waits for the answers that come, not for the whole deadline: once answers
                # have started, a quiet spell of SEARCH_QUIET_S ends the search
                wait = SEARCH_QUIET_S if results else SEARCH_DEADLINE_S
                try:
                    results.append(await asyncio.wait_for(anext(stream), wait))
                except (StopAsyncIteration, TimeoutError):
                    break
        finally:
            close = getattr(stream, "aclose", None)  # an async generator: closes the search's waiter
            if close is not None:
                await close()
        return results, time.monotonic() - started

    async def search_page(self, request: Request, sid: str) -> Response:
        f, errors = parse_filters(request.query_params)
        ctx = self._ctx(
            sid,
            "search",
            title="Search the network",
            values=f.values,
            errors=errors,
            sorts=list(SORTS.items()),
            cities=[("", "Any city"), *CITIES.items()],
            categories=[("", "Any category"), *((c, c) for c in CATEGORIES)],
            searched=False,
            offers=[],
        )
        if errors:
            return self.renderer.page(request, "storefront/search.html", ctx, status=422)
        if not f.searchable:
            return self.renderer.page(request, "storefront/search.html", ctx)
        try:
            results, took = await self.run_search(f.text, f.category, f.city)
        except BuyerError as exc:
            ctx["messages"] = [{"kind": "error", "text": f"Search is unavailable right now: {exc.message}"}]
            return self.renderer.page(request, "storefront/search.html", ctx, status=503)
        offers = self.remember_results(results, await asyncio.to_thread(self.web.seller_ratings))
        shown = apply(offers, f)
        ctx.update(
            searched=True,
            offers=shown,
            total=len(offers),
            sellers=len({o.bpp_id for o in offers}),
            took=took,
        )
        return self.renderer.page(request, "storefront/search.html", ctx)

    def _offer(self, request: Request) -> Offer | None:
        p = request.path_params
        return self._offers.get((p["bpp_id"], p["provider_id"], p["item_id"]))

    async def item_page(
        self, request: Request, sid: str, form_errors: dict[str, str] | None = None, typed: str = "1"
    ) -> Response:
        offer = self._offer(request)
        if offer is None:
            return self.renderer.page(
                request,
                "storefront/message.html",
                self._ctx(
                    sid,
                    title="Item not found",
                    text="This item is not among the recent search results of this node. Search again "
                    "to see the sellers' current offers.",
                    link=("/", "Search the network"),
                ),
                status=404,
            )
        in_cart = next(
            (
                ln
                for ln in self.web.cart(sid)
                if (ln["bpp_id"], ln["provider_id"], ln["item_id"]) == offer.key
            ),
            None,
        )
        ctx = self._ctx(
            sid,
            "search",
            title=offer.name,
            offer=offer,
            in_cart=in_cart,
            errors=form_errors or {},
            values={"quantity": typed},
            add_url="/cart/add",
        )
        return self.renderer.page(request, "storefront/item.html", ctx, status=422 if form_errors else 200)

    # --- the cart ---------------------------------------------------------------------------

    async def cart_add(self, request: Request, sid: str) -> Response:
        form = await request.form()
        key = (str(form.get("bpp_id", "")), str(form.get("provider_id", "")), str(form.get("item_id", "")))
        offer = self._offers.get(key)
        if offer is None:
            return self.renderer.redirect("/", [("error", "That item is no longer in the search results.")])
        request.scope["path_params"] = dict(zip(("bpp_id", "provider_id", "item_id"), key, strict=True))
        try:
            quantity = parse_quantity(form.get("quantity"))
            lines = add_line(await asyncio.to_thread(self.web.cart, sid), line_of(offer), quantity)
        except FormError as exc:
            return await self.item_page(request, sid, exc.errors, str(form.get("quantity", "")))
        await asyncio.to_thread(self.web.save_cart, sid, lines)
        return self.renderer.redirect(
            "/cart", [("ok", f"Added {quantity} × {offer.name} from {offer.provider_name} to your cart.")]
        )

    async def cart_page(
        self, request: Request, sid: str, form_errors: dict[str, str] | None = None
    ) -> Response:
        lines = await asyncio.to_thread(self.web.cart, sid)
        groups = group_by_seller(lines)
        ctx = self._ctx(sid, "cart", title="Your cart", groups=groups, errors=form_errors or {})
        return self.renderer.page(request, "storefront/cart.html", ctx, status=422 if form_errors else 200)

    async def cart_update(self, request: Request, sid: str) -> Response:
        form = await request.form()
        lines = await asyncio.to_thread(self.web.cart, sid)
        raw_index = str(form.get("index", ""))
        try:
            if not raw_index.isdigit():
                raise FormError({"line": "That item is no longer in your cart"})
            index = int(raw_index)
            quantity = 0 if form.get("remove") else parse_quantity(form.get("quantity"), f"quantity-{index}")
            lines = set_quantity(lines, index, quantity)
        except FormError as exc:
            return await self.cart_page(request, sid, exc.errors)
        await asyncio.to_thread(self.web.save_cart, sid, lines)
        return self.renderer.redirect("/cart", [("ok", "Cart updated.")])


def item_url(o: Offer) -> str:
    return "/item/" + "/".join(quote(x, safe="") for x in o.key)


def search_url(**params: str) -> str:
    return "/?" + urlencode({k: v for k, v in params.items() if v})


def line_of(o: Offer) -> dict[str, Any]:
    return {
        "bpp_id": o.bpp_id,
        "bpp_uri": o.bpp_uri,
        "provider_id": o.provider_id,
        "provider_name": o.provider_name,
        "item_id": o.item_id,
        "name": o.name,
        "price": o.price,
        "currency": o.currency,
        "price_breaks": list(o.price_breaks),
    }

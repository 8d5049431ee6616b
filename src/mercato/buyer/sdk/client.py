"""The async SDK for buyer apps: talks to a buyer node's local API.

::

    async with Client("http://127.0.0.1:8300", token) as c:
        async for result in c.search("basmati rice", deadline=3.0):
            print(result.bpp_id, [(i.name, i.price) for i in result.items])
        order = await c.select(result.bpp_id, result.provider_id, [{"id": item_id, "quantity": 2}])
        order = await c.init(order, billing={...}, fulfillment={...})
        order = await c.confirm(order)

Every call has a deadline (seconds). The node enforces it on the network side; the SDK also stops
waiting for the node itself a little after it (``grace_s``), so no call ever hangs, even when the node
is stuck or unreachable. Errors are the exceptions of :mod:`mercato.buyer.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import httpx
import orjson

from mercato.buyer.errors import BuyerError, DeadlineExceeded, Unavailable, from_json
from mercato.buyer.sdk.types import (
    Cart,
    CheckoutResult,
    Event,
    Order,
    Rated,
    SearchResult,
    SupportInfo,
    Tracking,
)

DEFAULT_DEADLINE_S = 10.0
OrderRef = Order | str


def _ref(order: OrderRef) -> str:
    return order.id if isinstance(order, Order) else order


class SearchStream:
    """``async for result in c.search(...)``: results as sellers answer, until the deadline.

    After the loop, ``results`` holds every result, ``sellers`` the seller ids that answered, and
    ``complete`` whether ``expect`` sellers answered. With ``expect`` set, the loop ends as soon as
    that many sellers answered, and raises :class:`DeadlineExceeded` (``arrived`` = the results) if
    fewer answered before the deadline."""

    def __init__(self, client: Client, body: dict[str, Any], deadline: float) -> None:
        self._client = client
        self._body = body
        self._deadline = deadline
        self.results: list[SearchResult] = []
        self.sellers: list[str] = []
        self.complete = False
        self.summary: dict[str, Any] | None = None
        self._iter: AsyncIterator[SearchResult] | None = None

    def __aiter__(self) -> AsyncIterator[SearchResult]:
        if self._iter is None:
            self._iter = self._run()
        return self._iter

    async def collect(self) -> list[SearchResult]:
        """Every result, once the search is over."""
        async for _ in self:
            pass
        return self.results

    async def _run(self) -> AsyncIterator[SearchResult]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + self._deadline + self._client.grace_s
        http = self._client.http
        try:
            async with asyncio.timeout_at(ends):
                async with http.stream("POST", "/api/search", content=orjson.dumps(self._body)) as resp:
                    if resp.status_code != 200:
                        await resp.aread()
                        raise _error(resp)
                    async for line in resp.aiter_lines():
                        if not line.strip():
                            continue
                        data = orjson.loads(line)
                        if data.get("type") == "result":
                            result = SearchResult.from_json(data["result"])
                            self.results.append(result)
                            if result.bpp_id not in self.sellers:
                                self.sellers.append(result.bpp_id)
                            yield result
                        elif data.get("type") == "end":
                            self.summary = data
                            self.complete = bool(data.get("complete"))
        except TimeoutError:
            raise DeadlineExceeded(
                "the buyer node did not finish the search in time", arrived=list(self.results)
            ) from None
        except httpx.HTTPError as exc:
            raise Unavailable(f"the buyer node cannot be reached: {type(exc).__name__}") from None
        if self._body.get("expect") is not None and not self.complete:
            raise DeadlineExceeded(
                f"{len(self.sellers)} of {self._body['expect']} sellers answered before the deadline",
                arrived=list(self.results),
            )


def _error(resp: httpx.Response) -> BuyerError:
    try:
        data = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        data = None
    err = data.get("error") if isinstance(data, dict) else None
    return from_json(err if err is not None else {"message": f"HTTP {resp.status_code}"}, resp.status_code)


class Client:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        grace_s: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.grace_s = grace_s
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(None, connect=5.0),  # each call has its own deadline
            transport=transport,
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, body: dict[str, Any] | None, deadline: float) -> Any:
        try:
            async with asyncio.timeout(deadline + self.grace_s):
                if method == "GET":
                    resp = await self.http.get(path, params=body)
                else:
                    resp = await self.http.post(path, content=orjson.dumps(body or {}))
        except TimeoutError:
            raise DeadlineExceeded(f"no answer from the buyer node within {deadline:g} s") from None
        except httpx.HTTPError as exc:
            raise Unavailable(f"the buyer node cannot be reached: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise _error(resp)
        return orjson.loads(resp.content)

    async def _order_call(self, order: OrderRef, action: str, body: dict[str, Any], deadline: float) -> Any:
        body = {k: v for k, v in body.items() if v is not None}
        body["deadline"] = deadline
        return await self._call("POST", f"/api/orders/{_ref(order)}/{action}", body, deadline)

    # --- discovery --------------------------------------------------------------------------

    def search(
        self,
        text: str | None = None,
        *,
        category: str | None = None,
        city: str | None = None,
        deadline: float = 5.0,
        mode: str = "both",
        expect: int | None = None,
    ) -> SearchStream:
        """Search the network through the gateway; iterate to get results as they arrive."""
        body: dict[str, Any] = {"text": text, "category": category, "city": city, "mode": mode}
        body = {k: v for k, v in body.items() if v is not None}
        body["deadline"] = deadline
        if expect is not None:
            body["expect"] = expect
        return SearchStream(self, body, deadline)

    # --- the purchase -----------------------------------------------------------------------

    async def select(
        self,
        bpp_id: str,
        provider_id: str | None,
        items: list[dict[str, Any]],
        *,
        bpp_uri: str | None = None,
        transaction_id: str | None = None,
        fulfillment: dict[str, Any] | None = None,
        deadline: float = DEFAULT_DEADLINE_S,
    ) -> Order:
        """Ask a seller for a quote on ``items`` (``[{"id": ..., "quantity": n}]``)."""
        body = {
            "bpp_id": bpp_id,
            "provider_id": provider_id,
            "items": items,
            "bpp_uri": bpp_uri,
            "transaction_id": transaction_id,
            "fulfillment": fulfillment,
            "deadline": deadline,
        }
        data = await self._call(
            "POST", "/api/select", {k: v for k, v in body.items() if v is not None}, deadline
        )
        return Order.from_json(data)

    async def init(
        self,
        order: OrderRef,
        *,
        billing: dict[str, Any],
        fulfillment: dict[str, Any] | None = None,
        payment: dict[str, Any] | None = None,
        deadline: float = DEFAULT_DEADLINE_S,
    ) -> Order:
        body = {"billing": billing, "fulfillment": fulfillment, "payment": payment}
        return Order.from_json(await self._order_call(order, "init", body, deadline))

    async def confirm(
        self, order: OrderRef, *, payment: dict[str, Any] | None = None, deadline: float = DEFAULT_DEADLINE_S
    ) -> Order:
        return Order.from_json(await self._order_call(order, "confirm", {"payment": payment}, deadline))

    async def checkout(
        self,
        cart: Cart | list[dict[str, Any]],
        *,
        billing: dict[str, Any],
        fulfillment: dict[str, Any] | None = None,
        payment: dict[str, Any] | None = None,
        deadline: float = 30.0,
    ) -> list[CheckoutResult]:
        """One order per seller (select, init, confirm each); a result per seller, failures included."""
        lines = cart.lines if isinstance(cart, Cart) else cart
        fields: dict[str, Any] = {
            "lines": lines,
            "billing": billing,
            "fulfillment": fulfillment,
            "payment": payment,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        body["deadline"] = deadline
        data = await self._call("POST", "/api/checkout", body, deadline)
        return [CheckoutResult.from_json(r) for r in data["orders"]]

    # --- after the purchase -----------------------------------------------------------------

    async def status(self, order: OrderRef, *, deadline: float = DEFAULT_DEADLINE_S) -> Order:
        return Order.from_json(await self._order_call(order, "status", {}, deadline))

    async def track(self, order: OrderRef, *, deadline: float = DEFAULT_DEADLINE_S) -> Tracking:
        data = await self._order_call(order, "track", {}, deadline)
        raw = data.get("tracking") or None
        return Tracking(
            Order.from_json(data["order"]),
            raw.get("url") if raw else None,
            raw.get("status") if raw else None,
            raw,
        )

    async def cancel(self, order: OrderRef, reason_id: str, *, deadline: float = DEFAULT_DEADLINE_S) -> Order:
        return Order.from_json(await self._order_call(order, "cancel", {"reason_id": reason_id}, deadline))

    async def update(
        self, order: OrderRef, target: str, changes: dict[str, Any], *, deadline: float = DEFAULT_DEADLINE_S
    ) -> Order:
        body = {"target": target, "order": changes}
        return Order.from_json(await self._order_call(order, "update", body, deadline))

    async def rate(
        self,
        order: OrderRef,
        value: int,
        *,
        category: str = "Order",
        id: str | None = None,  # noqa: A002 - the rated entity's id, as Beckn names it
        deadline: float = DEFAULT_DEADLINE_S,
    ) -> Rated:
        data = await self._order_call(
            order, "rating", {"value": value, "category": category, "id": id}, deadline
        )
        return Rated(Order.from_json(data["order"]), data.get("feedback_form"))

    async def support(self, order: OrderRef, *, deadline: float = DEFAULT_DEADLINE_S) -> SupportInfo:
        data = await self._order_call(order, "support", {}, deadline)
        raw = data.get("support") or None
        return SupportInfo(
            Order.from_json(data["order"]),
            (raw or {}).get("phone"),
            (raw or {}).get("email"),
            (raw or {}).get("url"),
            raw,
        )

    # --- the node's records -----------------------------------------------------------------

    async def orders(self, *, limit: int = 100, offset: int = 0, deadline: float = 10.0) -> list[Order]:
        data = await self._call("GET", "/api/orders", {"limit": limit, "offset": offset}, deadline)
        return [Order.from_json(o) for o in data["orders"]]

    async def order(self, order: OrderRef, *, deadline: float = 10.0) -> Order:
        return Order.from_json(await self._call("GET", f"/api/orders/{_ref(order)}", None, deadline))

    async def events(
        self,
        after: int = 0,
        *,
        order: OrderRef | None = None,
        poll_s: float = 10.0,
        deadline: float | None = None,
    ) -> AsyncIterator[Event]:
        """Every callback the node records after sequence number ``after``, as it arrives (long
        polling, ``poll_s`` per request). Runs until ``deadline`` seconds have passed (forever when
        None: break out of the loop or cancel the task)."""
        loop = asyncio.get_running_loop()
        ends = None if deadline is None else loop.time() + deadline
        cursor = after
        while True:
            wait = poll_s if ends is None else min(poll_s, ends - loop.time())
            if wait <= 0:
                return
            params: dict[str, Any] = {"after": cursor, "wait": round(wait, 3)}
            if order is not None:
                params["order"] = _ref(order)
            data = await self._call("GET", "/api/events", params, wait)
            for e in data["events"]:
                event = Event.from_json(e)
                cursor = max(cursor, event.seq)
                yield event

"""The buyer node's local API: JSON over HTTP for buyer apps, the SDK and the storefront.

Every route under ``/api`` except ``/api/health`` needs ``Authorization: Bearer <token>`` (401
otherwise). Errors are ``{"error": {"kind", "message", ...}}`` with the status of the
:class:`~mercato.buyer.errors.BuyerError` (400, 401, 404, 409, 502 Nack, 503 unavailable, 504
deadline). ``POST /api/search`` streams NDJSON, one line per result as callbacks arrive. See
docs/buyer.md for the whole surface.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mercato.buyer.errors import BadRequest, BuyerError, NotFound, Unauthorized
from mercato.buyer.node import BuyerNode
from mercato.buyer.ordering import Orders

MAX_BODY = 1024 * 1024
MAX_EVENT_WAIT_S = 30.0
ORDER_ACTIONS = ("init", "confirm", "status", "track", "cancel", "update", "rating", "support")

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(exc: BuyerError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="mercato-buyer"'} if exc.http_status == 401 else None
    return Response(
        orjson.dumps({"error": exc.to_json()}),
        status_code=exc.http_status,
        media_type="application/json",
        headers=headers,
    )


async def read_json(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(f"the body is larger than {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise BadRequest(f"the body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


class LocalApi:
    def __init__(self, node: BuyerNode, token: str) -> None:
        if not token:
            raise ValueError("the local API needs a token")
        self.node = node
        self.orders = Orders(node)
        self._token = token.encode()

    def _guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            try:
                header = request.headers.get("authorization", "")
                scheme, _, given = header.partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token):
                    raise Unauthorized("missing or wrong bearer token")
                return await endpoint(request)
            except BuyerError as exc:
                return error_response(exc)

        return guarded

    def routes(self) -> list[Route]:
        g = self._guard
        return [
            Route("/api/health", self.health, methods=["GET"]),
            Route("/api/search", g(self.search), methods=["POST"]),
            Route("/api/select", g(self.select), methods=["POST"]),
            Route("/api/checkout", g(self.checkout), methods=["POST"]),
            Route("/api/orders", g(self.list_orders), methods=["GET"]),
            Route("/api/orders/{ref}", g(self.get_order), methods=["GET"]),
            Route("/api/orders/{ref}/{action}", g(self.order_action), methods=["POST"]),
            Route("/api/events", g(self.events), methods=["GET"]),
        ]

    def app(self, extra_routes: list[BaseRoute] | None = None, lifespan: Any = None) -> Starlette:
        return Starlette(routes=[*self.routes(), *(extra_routes or [])], lifespan=lifespan)

    # --- routes -----------------------------------------------------------------------------

    async def health(self, _request: Request) -> Response:
        return json_response({"ok": True, "subscriber_id": self.node.config.subscriber_id, "role": "BAP"})

    async def search(self, request: Request) -> Response:
        body = await read_json(request)
        deadline_s = self.node.deadline(body.get("deadline"))
        for name in ("text", "category", "city"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise BadRequest(f"{name} must be a string")
        started = time.monotonic()
        handle = await self.node.start_search(
            text=body.get("text"),
            category=body.get("category"),
            city=body.get("city"),
            mode=body.get("mode", "both"),
            deadline_s=deadline_s,
            expect=body.get("expect"),
        )

        async def lines() -> AsyncIterator[bytes]:
            sellers: set[str] = set()
            count = 0
            async for result in self.node.search_results(handle):
                count += 1
                sellers.add(result["bpp_id"])
                yield orjson.dumps({"type": "result", "result": result}) + b"\n"
            end = {
                "type": "end",
                "transaction_id": handle.transaction_id,
                "message_id": handle.message_id,
                "results": count,
                "sellers": len(sellers),
                "complete": handle.expect is not None and len(sellers) >= handle.expect,
                "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
            }
            yield orjson.dumps(end) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def select(self, request: Request) -> Response:
        body = await read_json(request)
        view = await self.orders.select(
            bpp_id=body.get("bpp_id"),
            provider_id=body.get("provider_id"),
            items=body.get("items"),
            bpp_uri=body.get("bpp_uri"),
            transaction_id=body.get("transaction_id"),
            fulfillment=body.get("fulfillment"),
            deadline_s=self.node.deadline(body.get("deadline")),
        )
        return json_response(view)

    async def checkout(self, request: Request) -> Response:
        body = await read_json(request)
        results = await self.orders.checkout(
            body.get("lines"),
            billing=body.get("billing"),
            fulfillment=body.get("fulfillment"),
            payment=body.get("payment"),
            deadline_s=self.node.deadline(body.get("deadline")),
        )
        return json_response({"ok": all(r["ok"] for r in results), "orders": results})

    async def list_orders(self, request: Request) -> Response:
        limit = _int_param(request, "limit", 100, 1, 1000)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        rows = await asyncio.to_thread(self.node.store.list_orders, limit, offset)
        return json_response({"orders": rows})

    async def get_order(self, request: Request) -> Response:
        return json_response(await self.orders.get(request.path_params["ref"]))

    async def order_action(self, request: Request) -> Response:
        action = request.path_params["action"]
        ref = request.path_params["ref"]
        if action not in ORDER_ACTIONS:
            raise NotFound(f"no order action {action[:32]!r}; use one of {', '.join(ORDER_ACTIONS)}")
        body = await read_json(request)
        d = self.node.deadline(body.get("deadline"))
        o = self.orders
        result: dict[str, Any]
        if action == "init":
            result = await o.init(
                ref,
                billing=body.get("billing"),
                fulfillment=body.get("fulfillment"),
                payment=body.get("payment"),
                deadline_s=d,
            )
        elif action == "confirm":
            result = await o.confirm(ref, payment=body.get("payment"), deadline_s=d)
        elif action == "status":
            result = await o.status(ref, deadline_s=d)
        elif action == "track":
            result = await o.track(ref, deadline_s=d)
        elif action == "cancel":
            result = await o.cancel(ref, reason_id=body.get("reason_id"), deadline_s=d)
        elif action == "update":
            result = await o.update(ref, target=body.get("target"), order=body.get("order"), deadline_s=d)
        elif action == "rating":
            result = await o.rate(
                ref,
                value=body.get("value"),
                category=body.get("category", "Order"),
                id=body.get("id"),
                deadline_s=d,
            )
        else:
            result = await o.support(ref, deadline_s=d)
        return json_response(result)

    async def events(self, request: Request) -> Response:
        after = _int_param(request, "after", 0, 0, 2**62)
        wait = _float_param(request, "wait", 0.0, 0.0, MAX_EVENT_WAIT_S)
        order = request.query_params.get("order")
        events = await self.node.wait_events(after, wait, order)
        nxt = events[-1]["seq"] if events else after
        return json_response({"events": events, "next": nxt})


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be from {lo} to {hi}")
    return value


def _float_param(request: Request, name: str, default: float, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be from {lo:g} to {hi:g}")
    return value

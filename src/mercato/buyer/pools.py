"""The buyer node's side of demand pools: signed commitments, revocations, progress, and settling.

Routes of the local API (bearer token like the rest of ``/api``):

* ``POST /api/pools/commit`` — ``{coordinator, pool, offers, quantity, max_unit_price, currency,
  expires_at}``: the node builds the commitment document, signs its canonical bytes with its own
  signing key (the key the registry lists for this BAP) and sends it to the pool's coordinator
  (``coordinator`` is the ``pool.coordinator`` tag of the offer, a manufacturer's node or a
  ``mercato pool serve``). Answers the commitment and the pool's live progress.
* ``POST /api/pools/revoke`` — ``{coordinator, commitment}``: a signed revocation (until the deadline).
* ``GET /api/pools/progress?coordinator=&pool=`` and ``GET /api/pools/commitment?coordinator=&id=``.
* ``POST /api/pools/settle`` — ``{coordinator, pool, billing, fulfillment, payment?}``: once the pool
  is cleared, fetch its published input and result, verify them (signatures and a re-run of the
  clearing), then place **one order per accepted commitment of this node** at the manufacturer's
  node through the normal select / init / confirm (the transaction id is derived from the
  commitment id, so settling twice never orders twice), and report each rejected commitment with
  its reason.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.buyer.api import LocalApi, json_response, read_json
from mercato.buyer.errors import BadRequest, BuyerError, Conflict, NotFound, Unavailable
from mercato.pools.signed import commitment_transaction_id, parse_time, rfc3339, sign_doc
from mercato.pools.verify import verify

SETTLE_DEADLINE_S = 60.0


class PoolApi:
    def __init__(self, api: LocalApi) -> None:
        self.api = api
        self.node = api.node

    def routes(self) -> list[Route]:
        g = self.api._guard  # noqa: SLF001 - the same bearer-token guard as every /api route
        return [
            Route("/api/pools/commit", g(self.commit), methods=["POST"]),
            Route("/api/pools/revoke", g(self.revoke), methods=["POST"]),
            Route("/api/pools/progress", g(self.progress), methods=["GET"]),
            Route("/api/pools/commitment", g(self.commitment), methods=["GET"]),
            Route("/api/pools/settle", g(self.settle), methods=["POST"]),
        ]

    # -- talking to a coordinator --------------------------------------------------------------

    def _coordinator(self, value: Any) -> str:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise BadRequest(
                "coordinator must be the pool's coordinator URL (the offer's pool.coordinator tag)"
            )
        return value.rstrip("/")

    async def _send(self, url: str, doc: dict[str, Any], valid_until: datetime) -> dict[str, Any]:
        cfg = self.node.config
        s = sign_doc(doc, cfg.keys.signing, cfg.subscriber_id, cfg.unique_key_id, valid_until=valid_until)
        try:
            async with httpx.AsyncClient(timeout=15) as http:
                r = await http.post(url, content=s.body, headers={"Authorization": s.signature})
        except httpx.HTTPError as exc:
            raise Unavailable(f"the pool coordinator cannot be reached: {type(exc).__name__}") from None
        answer: dict[str, Any] = self._answer(r)
        return answer

    async def _get(self, url: str, params: dict[str, str] | None = None) -> Any:
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                r = await http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the pool coordinator cannot be reached: {type(exc).__name__}") from None
        return self._answer(r)

    @staticmethod
    def _answer(r: httpx.Response) -> Any:
        try:
            data = orjson.loads(r.content)
        except orjson.JSONDecodeError:
            data = None
        if r.status_code == 200 and data is not None:
            return data
        message = (data or {}).get("error", {}).get("message") if isinstance(data, dict) else None
        message = f"the pool coordinator refused: {message or r.text[:300]}"
        if r.status_code == 404:
            raise NotFound(message)
        if r.status_code in (409, 422):
            raise Conflict(message)
        if r.status_code in (400, 401):
            raise BadRequest(message)
        raise Unavailable(message)

    # -- routes --------------------------------------------------------------------------------

    async def commit(self, request: Request) -> Response:
        body = await read_json(request)
        url = self._coordinator(body.get("coordinator"))
        problems: list[str] = []
        expires = parse_time(body.get("expires_at"), "expires_at", problems)
        if problems or expires is None:
            raise BadRequest("; ".join(problems))
        for name in ("pool", "currency"):
            if not isinstance(body.get(name, "INR"), str):
                raise BadRequest(f"{name} must be a string")
        now = datetime.now(UTC)
        doc = {
            "kind": "commitment",
            "id": str(body.get("id") or uuid.uuid4()),
            "pool": body.get("pool"),
            "bap_id": self.node.config.subscriber_id,
            "quantity": body.get("quantity"),
            "max_unit_price": body.get("max_unit_price"),
            "currency": body.get("currency", "INR"),
            "offers": body.get("offers"),
            "expires_at": rfc3339(expires),
            "created_at": rfc3339(now),
        }
        answer = await self._send(f"{url}/pool/commitments", doc, max(expires, now + timedelta(minutes=1)))
        return json_response({**answer, "document": doc, "coordinator": url})

    async def revoke(self, request: Request) -> Response:
        body = await read_json(request)
        url = self._coordinator(body.get("coordinator"))
        if not isinstance(body.get("commitment"), str):
            raise BadRequest("commitment (its id) is required")
        now = datetime.now(UTC)
        doc = {
            "kind": "revocation",
            "commitment": body["commitment"],
            "bap_id": self.node.config.subscriber_id,
            "created_at": rfc3339(now),
        }
        return json_response(await self._send(f"{url}/pool/revocations", doc, now + timedelta(days=365)))

    async def progress(self, request: Request) -> Response:
        url = self._coordinator(request.query_params.get("coordinator"))
        pool = request.query_params.get("pool")
        if not pool:
            raise BadRequest("pool is required")
        return json_response(await self._get(f"{url}/pool/{pool}"))

    async def commitment(self, request: Request) -> Response:
        url = self._coordinator(request.query_params.get("coordinator"))
        cid = request.query_params.get("id")
        if not cid:
            raise BadRequest("id (the commitment's) is required")
        return json_response(await self._get(f"{url}/pool/commitments/{cid}"))

    async def settle(self, request: Request) -> Response:
        body = await read_json(request)
        url = self._coordinator(body.get("coordinator"))
        pool = body.get("pool")
        if not isinstance(pool, str) or not pool:
            raise BadRequest("pool is required")
        if not isinstance(body.get("billing"), dict):
            raise BadRequest("billing is required (the orders are placed for it)")
        doc = await self._get(f"{url}/pool/{pool}/input")
        result = await self._get(f"{url}/pool/{pool}/result")
        verdict = await asyncio.to_thread(verify, doc, result)
        if not verdict.ok:
            raise Conflict(
                "the pool's published clearing does not verify: " + "; ".join(verdict.problems[:5])
            )
        me = self.node.config.subscriber_id
        mine = {c["id"] for c in doc.get("commitments", []) if c.get("bap_id") == me}
        offers = {o["id"]: o for o in doc.get("offers", [])}
        out: list[dict[str, Any]] = []
        for r in result.get("rejected", []):
            if r["commitment"] in mine:
                out.append({"commitment": r["commitment"], "state": "rejected", "reason": r["reason"]})
        for a in result.get("accepted", []):
            if a["commitment"] in mine:
                out.append(await self._order(a, offers[a["offer"]], body))
        out.sort(key=lambda x: x["commitment"])
        return json_response(
            {"pool": pool, "verified": True, "objective": result.get("objective"), "commitments": out}
        )

    async def _order(
        self, accepted: dict[str, Any], offer: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        """select / init / confirm one accepted commitment at its manufacturer's node."""
        cid = accepted["commitment"]
        entry: dict[str, Any] = {
            "commitment": cid,
            "state": "accepted",
            "offer": accepted["offer"],
            "quantity": accepted["quantity"],
            "unit_price": accepted["unit_price"],
        }
        transaction_id = commitment_transaction_id(cid)
        orders = self.api.orders
        d = self.node.deadline(body.get("deadline", min(SETTLE_DEADLINE_S, self.node.config.max_deadline_s)))
        try:
            existing = await asyncio.to_thread(self.node.store.list_orders, 1000, 0)
            done = next((o for o in existing if o.get("transaction_id") == transaction_id), None)
            if done is not None and done.get("stage") == "confirmed":
                entry["order"] = done
                return entry
            view = await orders.select(
                bpp_id=offer["bpp_id"],
                provider_id=offer["provider_id"],
                items=[{"id": offer["item_id"], "quantity": accepted["quantity"]}],
                bpp_uri=offer.get("bpp_uri") or None,
                transaction_id=transaction_id,
                fulfillment=body.get("fulfillment"),
                deadline_s=d,
            )
            view = await orders.init(
                view["id"],
                billing=body.get("billing"),
                fulfillment=body.get("fulfillment"),
                payment=body.get("payment"),
                deadline_s=d,
            )
            entry["order"] = await orders.confirm(view["id"], payment=body.get("payment"), deadline_s=d)
        except BuyerError as exc:
            entry["error"] = exc.to_json()
        return entry


def pool_routes(api: LocalApi) -> list[Route]:
    return PoolApi(api).routes()

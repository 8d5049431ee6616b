"""The buyer node (BAP): signs and sends requests, receives every ``on_*`` callback, stores the
buyer's side of orders, and pairs each callback with the request that caused it.

The local API (:mod:`mercato.buyer.api`) and tests drive it; :mod:`mercato.buyer.ordering` holds the
order calls (select ... support, checkout) on top of :meth:`BuyerNode.request`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from mercato.buyer.correlation import Correlator, Waiter
from mercato.buyer.errors import (
    BadRequest,
    DeadlineExceeded,
    GatewayUnavailable,
    Nack,
    SellerUnavailable,
    Unavailable,
)
from mercato.buyer.store import BuyerStore
from mercato.buyer.views import attestation_group, search_results
from mercato.protocol.actions import CALLBACK_ACTIONS
from mercato.protocol.catalog_publish import (
    Attestation,
    PublishError,
    read_attestation,
    search_mode_tag,
    verify_attestation,
)
from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import REQUEST_MODELS, make_context
from mercato.protocol.models import Catalog, Order
from mercato.protocol.signing import SignatureError
from mercato.transport.client import BecknClient, DeliveryError
from mercato.transport.lookup import KeyLookupError, LookupCache
from mercato.transport.server import BecknReceiver, Inbound

log = logging.getLogger("mercato.buyer")

SEARCH_MODES = ("index", "broadcast", "both")
_REJECTED: Any = object()
STAGE_AFTER = {"on_init": "initialized", "on_confirm": "confirmed"}


@dataclass(frozen=True)
class NodeConfig:
    subscriber_id: str
    unique_key_id: str
    keys: KeyPair
    bap_uri: str  # where sellers send callbacks: this node's public base URL
    gateway_url: str | None = None
    registry_url: str | None = None
    domain: str = "ONDC:RET10"
    country: str = "IND"
    city: str = "std:080"
    default_deadline_s: float = 10.0
    max_deadline_s: float = 120.0


@dataclass
class SearchHandle:
    waiter: Waiter
    transaction_id: str
    message_id: str
    ends_at: float  # monotonic
    expect: int | None


class BuyerNode:
    def __init__(self, config: NodeConfig, store: BuyerStore, keys: LookupCache) -> None:
        self.config = config
        self.store = store
        self.keys = keys
        self.correlator = Correlator()
        self.receiver = BecknReceiver(
            keys=keys, handler=self.on_callback, actions=CALLBACK_ACTIONS, subscriber_id=config.subscriber_id
        )
        self._client: BecknClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._changed = asyncio.Event()
        self._seller_uris: OrderedDict[str, str] = OrderedDict()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            self._client = BecknClient(
                self.config.subscriber_id,
                self.config.unique_key_id,
                self.config.keys.signing,
                timeout_s=self.config.max_deadline_s,
            )
            self._http = httpx.AsyncClient(timeout=5.0)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def client(self) -> BecknClient:
        if self._client is None:
            raise RuntimeError("the buyer node is not started")
        return self._client

    def deadline(self, value: Any) -> float:
        """A deadline in seconds from a buyer app: a positive number up to ``max_deadline_s``."""
        if value is None:
            return self.config.default_deadline_s
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadRequest("deadline must be a number of seconds")
        if not 0 < value <= self.config.max_deadline_s:
            raise BadRequest(f"deadline must be more than 0 and at most {self.config.max_deadline_s} seconds")
        return float(value)

    # --- receiving --------------------------------------------------------------------------

    async def on_callback(self, inbound: Inbound) -> None:
        """The receiver's handler: record the callback (once), update the order, wake the waiter."""
        if inbound.action == "on_search":
            if not self.correlator.deliver(inbound):
                log.info("late or unsolicited on_search from %s dropped", inbound.sender.subscriber_id)
            return
        ctx = inbound.request.context
        bpp_id = inbound.sender.subscriber_id
        message = getattr(inbound.request, "message", None)
        order: Order | None = getattr(message, "order", None) if message is not None else None
        error = getattr(inbound.request, "error", None)
        found = await asyncio.to_thread(
            self.store.find_order, str(ctx.transaction_id), bpp_id, order.id if order is not None else None
        )
        awaited = self.correlator.is_awaited(inbound)
        if found is None:
            raise ProtocolError(Code.ORDER_NOT_FOUND, "this buyer has no order in this transaction with you")
        stage = STAGE_AFTER.get(inbound.action) if error is None else None
        if stage == "initialized" and found["stage"] == "confirmed":
            stage = None
        seq = await asyncio.to_thread(
            self.store.record_callback,
            bpp_id=bpp_id,
            action=inbound.action,
            message_id=str(ctx.message_id),
            transaction_id=str(ctx.transaction_id),
            body=inbound.body,
            order_ref=found["id"],
            solicited=awaited,
            order=order,
            error_code=error.code if error is not None else None,
            stage=stage,
        )
        if seq is None:
            log.info("duplicate %s %s from %s ignored", inbound.action, ctx.message_id, bpp_id)
            return
        self._changed.set()
        self._changed = asyncio.Event()
        self.correlator.deliver(inbound)

    async def wait_events(
        self, after: int, wait_s: float, order_ref: str | None = None
    ) -> list[dict[str, Any]]:
        """Events after ``after``; when there are none yet, wait up to ``wait_s`` for one."""
        ends = time.monotonic() + wait_s
        while True:
            changed = self._changed
            events = await asyncio.to_thread(self.store.events, after, 100, order_ref)
            left = ends - time.monotonic()
            if events or left <= 0:
                return events
            try:
                await asyncio.wait_for(changed.wait(), timeout=left)
            except TimeoutError:
                pass

    # --- sending ----------------------------------------------------------------------------

    def _context(
        self,
        action: str,
        *,
        transaction_id: str | None,
        bpp_id: str | None,
        bpp_uri: str | None,
        deadline_s: float,
        city: str | None = None,
    ) -> dict[str, Any]:
        ctx = make_context(
            action,
            domain=self.config.domain,
            country=self.config.country,
            city=city or self.config.city,
            bap_id=self.config.subscriber_id,
            bap_uri=self.config.bap_uri,
            bpp_id=bpp_id,
            bpp_uri=bpp_uri,
            transaction_id=transaction_id,
            ttl=f"PT{max(1, math.ceil(deadline_s))}S",
        )
        return ctx.model_dump(by_alias=True, exclude_none=True)

    def _body(self, action: str, context: dict[str, Any], message: dict[str, Any]) -> bytes:
        data = {"context": context, "message": message}
        try:
            REQUEST_MODELS[action].model_validate(data)
        except ValueError as exc:
            raise BadRequest(f"cannot build a valid {action}: {str(exc).splitlines()[0:3]}") from None
        return orjson.dumps(data)

    async def _send(self, url: str, action: str, body: bytes, left_s: float, bpp_id: str | None) -> None:
        unavailable: type[Unavailable] = SellerUnavailable if bpp_id is not None else GatewayUnavailable
        who = bpp_id or "the gateway"
        try:
            answer = await asyncio.wait_for(self.client.send(url, action, body), timeout=max(0.001, left_s))
        except TimeoutError:
            raise DeadlineExceeded(
                f"{who} did not acknowledge {action} before the deadline", bpp_id=bpp_id
            ) from None
        except DeliveryError as exc:
            raise unavailable(f"{who} cannot be reached: {exc}", bpp_id=bpp_id) from None
        if not answer.ack:
            raise Nack(answer.error_code, answer.error_message or f"HTTP {answer.status}", bpp_id=bpp_id)

    async def request(
        self,
        action: str,
        message: dict[str, Any],
        *,
        bpp_id: str,
        bpp_uri: str,
        transaction_id: str,
        deadline_s: float,
    ) -> Inbound:
        """Send ``action`` to a seller and wait for its callback until the deadline. Raises
        :class:`Nack` (NACK, or an error in the callback), :class:`SellerUnavailable`,
        :class:`DeadlineExceeded`. The callback is already recorded when this returns."""
        ends = time.monotonic() + deadline_s
        context = self._context(
            action, transaction_id=transaction_id, bpp_id=bpp_id, bpp_uri=bpp_uri, deadline_s=deadline_s
        )
        body = self._body(action, context, message)
        waiter = self.correlator.open(transaction_id, context["message_id"], "on_" + action, bpp_id)
        try:
            await self._send(bpp_uri, action, body, ends - time.monotonic(), bpp_id)
            try:
                inbound = await waiter.next(ends - time.monotonic())
            except TimeoutError:
                raise DeadlineExceeded(
                    f"no on_{action} from {bpp_id} before the deadline ({deadline_s:g} s)", bpp_id=bpp_id
                ) from None
        finally:
            self.correlator.close(waiter)
        error = getattr(inbound.request, "error", None)
        if error is not None:
            raise Nack(error.code, error.message or "error in callback", bpp_id=bpp_id, in_callback=True)
        return inbound

    # --- search -----------------------------------------------------------------------------

    async def start_search(
        self,
        *,
        text: str | None,
        category: str | None,
        city: str | None,
        mode: str,
        deadline_s: float,
        expect: int | None = None,
    ) -> SearchHandle:
        """Send a signed search to the gateway. Results arrive through :meth:`search_results`."""
        if self.config.gateway_url is None:
            raise BadRequest("this buyer node has no gateway configured")
        if mode not in SEARCH_MODES:
            raise BadRequest(f"mode must be one of {', '.join(SEARCH_MODES)}")
        if not text and not category:
            raise BadRequest("give text or category (or both)")
        if expect is not None and (isinstance(expect, bool) or not isinstance(expect, int) or expect < 1):
            raise BadRequest("expect must be a positive integer")
        ends = time.monotonic() + deadline_s
        intent: dict[str, Any] = {"tags": [search_mode_tag(mode)]}
        if text:
            intent["descriptor"] = {"name": text}
        if category:
            intent["category"] = {"id": category, "descriptor": {"code": category}}
        context = self._context(
            "search", transaction_id=None, bpp_id=None, bpp_uri=None, deadline_s=deadline_s, city=city
        )
        body = self._body("search", context, {"intent": intent})
        tx, msg = context["transaction_id"], context["message_id"]
        waiter = self.correlator.open(tx, msg, "on_search", None)
        try:
            await self._send(self.config.gateway_url, "search", body, ends - time.monotonic(), None)
        except BaseException:
            self.correlator.close(waiter)
            raise
        return SearchHandle(waiter, tx, msg, ends, expect)

    async def search_results(self, handle: SearchHandle) -> AsyncIterator[dict[str, Any]]:
        """Results per provider as the ``on_search`` callbacks arrive, until the deadline (or until
        ``expect`` sellers answered)."""
        sellers: set[str] = set()
        try:
            while handle.expect is None or len(sellers) < handle.expect:
                try:
                    inbound = await handle.waiter.next(handle.ends_at - time.monotonic())
                except TimeoutError:
                    return
                ctx = inbound.request.context
                message = getattr(inbound.request, "message", None)
                if message is None:  # an on_search carrying only an error: that seller has nothing
                    continue
                attestations = await self.verify_attestations(message.catalog)
                for result in search_results(
                    message.catalog,
                    bpp_id=inbound.sender.subscriber_id,
                    bpp_uri=str(ctx.bpp_uri),
                    transaction_id=handle.transaction_id,
                    source="gateway" if inbound.gateway is not None else "seller",
                    attestations=attestations,
                ):
                    if result["source"] != "index" and inbound.sender.type == "BG":
                        continue  # a gateway's own answer without a seller's signature: not trusted
                    self.remember_seller(result["bpp_id"], result["bpp_uri"])
                    sellers.add(result["bpp_id"])
                    yield result
        finally:
            self.correlator.close(handle.waiter)

    async def verify_attestations(self, catalog: Catalog) -> dict[int, Attestation]:
        """Check the seller's signature on each index result (provider) that carries one; a
        provider whose attestation does not verify is left out (logged)."""
        out: dict[int, Attestation] = {}
        for index, provider in enumerate(catalog.providers or ()):
            group = attestation_group(provider)
            if group is None:
                continue
            try:
                header, _ = read_attestation(group)
                key = await self.keys.get(header.subscriber_id, header.unique_key_id)
                out[index] = verify_attestation(group, key.signing_public_key)
            except (PublishError, SignatureError, KeyLookupError) as exc:
                log.warning("index result for provider %s dropped: %s", str(provider.id)[:64], exc)
                out[index] = _REJECTED
        return {i: a for i, a in out.items() if a is not _REJECTED}

    # --- sellers ----------------------------------------------------------------------------

    def remember_seller(self, bpp_id: str, bpp_uri: str) -> None:
        self._seller_uris[bpp_id] = bpp_uri
        self._seller_uris.move_to_end(bpp_id)
        while len(self._seller_uris) > 10_000:
            self._seller_uris.popitem(last=False)

    async def seller_uri(self, bpp_id: str) -> str:
        """Where a seller receives requests: from its search results, else from the registry."""
        known = self._seller_uris.get(bpp_id)
        if known is not None:
            return known
        if self.config.registry_url is None or self._http is None:
            raise SellerUnavailable(f"the address of {bpp_id!r} is unknown: give bpp_uri", bpp_id=bpp_id)
        try:
            resp = await self._http.post(
                self.config.registry_url.rstrip("/") + "/lookup",
                content=orjson.dumps({"subscriber_id": bpp_id, "type": "BPP"}),
                headers={"Content-Type": "application/json"},
            )
            records = resp.json() if resp.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            raise SellerUnavailable(
                "the registry cannot be asked for the seller's address", bpp_id=bpp_id
            ) from None
        for record in records if isinstance(records, list) else ():
            url = record.get("subscriber_url") if isinstance(record, dict) else None
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                self.remember_seller(bpp_id, url)
                return url
        raise SellerUnavailable(f"{bpp_id!r} is not a seller registered on this network", bpp_id=bpp_id)

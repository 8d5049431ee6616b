"""The buyer's side of orders and the callbacks that built it, on SQLite or PostgreSQL.

Every callback from a seller is recorded once: the row for ``(bpp_id, action, message_id)`` is
unique, so a callback delivered twice (a seller's outbox retrying after a lost ACK, a restart of
this node) changes nothing the second time. Recording a callback and applying it to the order
happen in one transaction. The sequence number of each callback row is the cursor of the
:meth:`BuyerStore.events` stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from mercato.buyer.tables import callbacks, orders
from mercato.buyer.views import fulfillment_state, quote_total
from mercato.db import make_engine, run_migrations
from mercato.protocol.messages import dump
from mercato.protocol.models import Order

STAGES = ("selected", "initialized", "confirmed")


def now_rfc3339() -> str:
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"


def open_store(url: str) -> BuyerStore:
    """Open (and migrate) the buyer database at ``url``."""
    engine = make_engine(url)
    run_migrations(engine, "mercato.buyer:migrations")
    return BuyerStore(engine)


def _order_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "transaction_id": row.transaction_id,
        "bpp_id": row.bpp_id,
        "bpp_uri": row.bpp_uri,
        "provider_id": row.provider_id,
        "order_id": row.order_id,
        "stage": row.stage,
        "status": row.status,
        "fulfillment_state": row.fulfillment_state,
        "total": row.total,
        "currency": row.currency,
        "items": orjson.loads(row.items),
        "order": orjson.loads(row.order_json) if row.order_json else None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _event_row(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "action": row.action,
        "bpp_id": row.bpp_id,
        "message_id": row.message_id,
        "transaction_id": row.transaction_id,
        "order": row.order_ref,
        "solicited": row.solicited,
        "status": row.status,
        "fulfillment_state": row.fulfillment_state,
        "error_code": row.error_code,
        "received_at": row.received_at,
    }


class BuyerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    # --- orders -----------------------------------------------------------------------------

    def create_order(
        self,
        *,
        transaction_id: str,
        bpp_id: str,
        bpp_uri: str,
        provider_id: str | None,
        items: Sequence[dict[str, Any]],
    ) -> dict[str, Any]:
        """A new order in stage ``selected``; if this transaction already has one with this seller,
        that one is reset to the new selection (a buyer may select again before init)."""
        t = now_rfc3339()
        items_json = orjson.dumps(list(items)).decode()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(orders.c.id, orders.c.stage).where(
                    orders.c.transaction_id == transaction_id, orders.c.bpp_id == bpp_id
                )
            ).first()
            if existing is not None:
                if existing.stage == "confirmed":
                    raise ValueError("this transaction already has a confirmed order with this seller")
                oid = existing.id
                conn.execute(
                    orders.update()
                    .where(orders.c.id == oid)
                    .values(
                        bpp_uri=bpp_uri,
                        provider_id=provider_id,
                        items=items_json,
                        stage="selected",
                        order_json=None,
                        total=None,
                        currency=None,
                        updated_at=t,
                    )
                )
            else:
                oid = str(uuid.uuid4())
                conn.execute(
                    orders.insert().values(
                        id=oid,
                        transaction_id=transaction_id,
                        bpp_id=bpp_id,
                        bpp_uri=bpp_uri,
                        provider_id=provider_id,
                        stage="selected",
                        items=items_json,
                        created_at=t,
                        updated_at=t,
                    )
                )
        found = self.get_order(oid)
        assert found is not None  # noqa: S101 - just written
        return found

    def get_order(self, order_ref: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(orders).where(orders.c.id == order_ref)).first()
        return None if row is None else _order_row(row)

    def find_order(
        self, transaction_id: str, bpp_id: str, order_id: str | None = None
    ) -> dict[str, Any] | None:
        """The order of this transaction with this seller, else the one with the seller's order id."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(orders).where(orders.c.transaction_id == transaction_id, orders.c.bpp_id == bpp_id)
            ).first()
            if row is None and order_id:
                row = conn.execute(
                    sa.select(orders).where(orders.c.bpp_id == bpp_id, orders.c.order_id == order_id)
                ).first()
        return None if row is None else _order_row(row)

    def list_orders(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(orders)
                .order_by(orders.c.created_at.desc(), orders.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [_order_row(r) for r in rows]

    # --- callbacks --------------------------------------------------------------------------

    def record_callback(
        self,
        *,
        bpp_id: str,
        action: str,
        message_id: str,
        transaction_id: str,
        body: bytes,
        order_ref: str | None,
        solicited: bool,
        order: Order | None,
        error_code: str | None = None,
        stage: str | None = None,
    ) -> int | None:
        """Record a callback and apply its order to the stored order, in one transaction.
        Returns the callback's sequence number, or None when it was already recorded."""
        t = now_rfc3339()
        fstate = fulfillment_state(order)
        status = order.status if order is not None else None
        try:
            with self.engine.begin() as conn:
                seq = conn.execute(
                    callbacks.insert()
                    .values(
                        bpp_id=bpp_id,
                        action=action,
                        message_id=message_id,
                        transaction_id=transaction_id,
                        order_ref=order_ref,
                        solicited=solicited,
                        status=status,
                        fulfillment_state=fstate,
                        error_code=error_code,
                        body=body.decode("utf-8", "replace"),
                        received_at=t,
                    )
                    .returning(callbacks.c.seq)
                ).scalar_one()
                if order_ref is not None and (order is not None or stage is not None):
                    values: dict[str, Any] = {"updated_at": t}
                    if order is not None:
                        values["order_json"] = dump(order).decode()
                        if order.id:
                            values["order_id"] = order.id
                        if status:
                            values["status"] = status
                        if fstate:
                            values["fulfillment_state"] = fstate
                        total, currency = quote_total(order)
                        if total is not None:
                            values["total"], values["currency"] = total, currency
                    if stage is not None:
                        values["stage"] = stage
                    conn.execute(orders.update().where(orders.c.id == order_ref).values(**values))
        except IntegrityError:
            return None
        return int(seq)

    def seen(self, bpp_id: str, action: str, message_id: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(callbacks.c.seq).where(
                    callbacks.c.bpp_id == bpp_id,
                    callbacks.c.action == action,
                    callbacks.c.message_id == message_id,
                )
            ).first()
        return row is not None

    def events(self, after: int = 0, limit: int = 100, order_ref: str | None = None) -> list[dict[str, Any]]:
        """Callbacks recorded after sequence number ``after``, oldest first."""
        q = sa.select(callbacks).where(callbacks.c.seq > after)
        if order_ref is not None:
            q = q.where(callbacks.c.order_ref == order_ref)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(callbacks.c.seq).limit(limit)).all()
        return [_event_row(r) for r in rows]

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.max(callbacks.c.seq), 0))).scalar_one()
            )

"""The buyer store on SQLite and PostgreSQL: migrations, orders, callbacks recorded once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from mercato.buyer.store import open_store
from mercato.protocol.models import Order


def test_migrations_and_dedupe(db_url: str) -> None:
    store = open_store(db_url)
    store.close()
    store = open_store(db_url)  # a second start migrates nothing and keeps the data
    try:
        with store.engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT version_num FROM buyer_alembic_version")).scalar_one() == "b0004"
            )
        tx = str(uuid.uuid4())
        o = store.create_order(
            transaction_id=tx,
            bpp_id="s1",
            bpp_uri="http://s1",
            provider_id="p",
            items=[{"id": "i", "quantity": 2}],
        )
        assert (o["stage"], o["items"], o["order"]) == ("selected", [{"id": "i", "quantity": 2}], None)
        order = Order.model_validate(
            {
                "id": "ord-1",
                "status": "ACTIVE",
                "quote": {"price": {"currency": "INR", "value": "12.5"}},
                "fulfillments": [{"state": {"descriptor": {"code": "Pending"}}}],
            }
        )
        kw = dict(
            bpp_id="s1",
            action="on_confirm",
            message_id="m1",
            transaction_id=tx,
            body=b"{}",
            order_ref=o["id"],
            solicited=True,
            order=order,
            stage="confirmed",
        )
        seq = store.record_callback(**kw)
        assert seq is not None
        assert store.record_callback(**kw) is None
        assert store.seen("s1", "on_confirm", "m1") and not store.seen("s2", "on_confirm", "m1")
        got = store.get_order(o["id"])
        assert got is not None
        assert (got["stage"], got["order_id"], got["total"], got["currency"], got["fulfillment_state"]) == (
            "confirmed",
            "ord-1",
            1250,
            "INR",
            "Pending",
        )
        assert store.find_order(str(uuid.uuid4()), "s1", "ord-1") == got
        assert store.find_order(str(uuid.uuid4()), "s2", "ord-1") is None
        assert [e["seq"] for e in store.events()] == [seq] and store.last_seq() == seq
        assert store.events(after=seq) == []
        with pytest.raises(ValueError, match="confirmed"):
            store.create_order(transaction_id=tx, bpp_id="s1", bpp_uri="http://s1", provider_id="p", items=[])
        again = store.create_order(
            transaction_id=tx, bpp_id="s2", bpp_uri="http://s2", provider_id="p", items=[]
        )
        assert again["id"] != o["id"] and len(store.list_orders()) == 2
    finally:
        store.close()

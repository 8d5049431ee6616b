"""GET /admin/retention over a node's own orders: the (customer_id, timestamp, amount) frame built from
the store, and the report page rendered from it (history long enough to split calibration/holdout)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mercato.seller.admin.api import admin_router
from mercato.seller.admin.export import orders_frame
from mercato.seller.config import load, write_starter
from mercato.seller.domain import LineRequest
from mercato.seller.handlers import Env, Identity
from mercato.seller.store import Store, open_store
from mercato.seller.store.checkout import Basket, ConfirmRequest, confirm
from tests.seller.store.helpers import T0, make_shop, on_confirm


@dataclass
class Host:
    config: object
    store: Store
    env: Env

    def wake(self) -> None:
        pass


def test_retention_report_and_frame(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    make_shop(store, hot=(5000, 0))
    rng = random.Random(7)
    for c in range(30):
        day = rng.randrange(0, 60)
        while day < 400:
            basket = Basket("P1", [LineRequest("HOT", rng.randint(1, 3))], city="std:080")
            req = ConfirmRequest(
                "bap.example", str(uuid.uuid4()), basket, buyer_id=f"cust-{c}", bap_uri="http://x"
            )
            confirm(store, req, order_id=str(uuid.uuid4()), now=T0 + timedelta(days=day), respond=on_confirm)
            day += rng.randrange(10, 120)
    frame = orders_frame(store)
    assert frame.schema == pl.Schema({"customer_id": pl.String, "timestamp": pl.Datetime("us", "UTC"),
                                      "amount": pl.Int64})  # fmt: skip
    assert frame["customer_id"].n_unique() == 30 and frame["amount"].min() > 0  # type: ignore[operator]
    cfg_path, _ = write_starter(tmp_path / "node")
    config = load(cfg_path)
    host = Host(config, store, Env(store, Identity("s", "http://s")))
    app = FastAPI()
    app.include_router(admin_router(host))  # type: ignore[arg-type]
    client = TestClient(app)
    assert client.get("/admin/retention").status_code == 401
    r = client.get("/admin/retention", headers={"Authorization": f"Bearer {config.admin_token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html") and "<html" in r.text.lower()

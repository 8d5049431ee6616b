"""A seller node app (no server, no registry) with a console user, a shop with items and stock, and
orders placed through the store's checkout, driven with Starlette's TestClient."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mercato.seller.config import load, set_console_password, write_starter
from mercato.seller.console.passwords import hash_password
from mercato.seller.domain import Descriptor, Item, LineRequest, Money
from mercato.seller.node import SellerNode
from mercato.seller.store import catalog, stock
from mercato.seller.store.checkout import Basket, ConfirmRequest, confirm
from tests.seller.store.helpers import on_confirm

PASSWORD = "correct horse battery"
USER = "meera"


@dataclass
class Shop:
    node: SellerNode
    client: TestClient
    config_path: Path

    def order(self, item_id: str = "KETTLE", qty: int = 1, when: datetime | None = None) -> str:
        basket = Basket("shop", [LineRequest(item_id, qty)], city="std:080")
        req = ConfirmRequest(
            "bap.example",
            str(uuid.uuid4()),
            basket,
            buyer_id="asha@example.org",
            bap_uri="http://127.0.0.1:9",
        )
        oid = str(uuid.uuid4())
        confirm(self.node.store, req, order_id=oid, now=when or datetime.now(UTC), respond=on_confirm)
        return oid

    def login(self, user: str = USER, password: str = PASSWORD, next_url: str = "/console/") -> object:
        page = self.client.get("/console/login", params={"next": next_url})
        token = csrf_of(page.text)
        return self.client.post(
            "/console/login",
            data={"user": user, "password": password, "csrf_token": token, "next": next_url},
            follow_redirects=False,
        )

    def csrf(self, path: str = "/console/") -> str:
        return csrf_of(self.client.get(path).text)


def seed_history(shop: Shop, customers: int = 60, seed: int = 3) -> None:
    """Orders over the last 14 months from customers who buy at their own pace and may stop after any
    purchase, each with their own chance (enough history for the retention report's models)."""
    rng = random.Random(seed)
    stock.receive(shop.node.store, "CUP", "shop-main", 10_000, datetime.now(UTC), "received")
    start = datetime.now(UTC) - timedelta(days=420)
    for c in range(customers):
        day, mean, leave = rng.randrange(0, 90), rng.uniform(10, 120), rng.betavariate(1.0, 4.0)
        while day < 410:
            basket = Basket("shop", [LineRequest("CUP", rng.randint(1, 3))], city="std:080")
            req = ConfirmRequest(
                "bap.example", str(uuid.uuid4()), basket, buyer_id=f"cust-{c}", bap_uri="http://x"
            )
            confirm(shop.node.store, req, order_id=str(uuid.uuid4()), now=start + timedelta(days=day),
                    respond=on_confirm)  # fmt: skip
            day += 1 + int(rng.expovariate(1 / mean))
            if rng.random() < leave:
                break


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def make_shop(tmp: Path, url: str | None = None, *, users: bool = True) -> Shop:
    cfg, _ = write_starter(tmp / "node", database_url=url or "sqlite:///seller.db")
    if users:
        set_console_password(cfg, USER, hash_password(PASSWORD))
    config = load(cfg)
    node = SellerNode(config)
    node.ensure_store()
    now = datetime.now(UTC)
    catalog.put_item(
        node.store, Item("KETTLE", "shop", Descriptor("Brass kettle"), Money(250_000, "INR")), now
    )
    catalog.put_item(node.store, Item("CUP", "shop", Descriptor("Clay cup"), Money(9_900, "INR")), now)
    stock.receive(node.store, "KETTLE", "shop-main", 20, now, "received")
    stock.receive(node.store, "CUP", "shop-main", 3, now, "received")
    return Shop(node, TestClient(node.api, base_url="http://testserver"), cfg)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    s = make_shop(tmp_path)
    yield s
    s.client.close()
    s.node.store.engine.dispose()

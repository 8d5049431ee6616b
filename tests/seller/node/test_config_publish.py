"""seller.toml (starter files, refusals naming the field), and `mercato seller publish` pushing a
signed catalog snapshot to a gateway (a loopback receiver checks format and signature)."""

from __future__ import annotations

import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mercato.protocol.catalog_publish import parse_publication
from mercato.protocol.signing import verify
from mercato.seller.config import ConfigError, load, write_starter
from mercato.seller.domain import Descriptor, Item, Money
from mercato.seller.node import SellerNode
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import stock as store_stock
from tests.transport.transport_helpers import ServerThread

CLI = [sys.executable, "-c", "from mercato.cli import main; main()"]


def test_starter_files(tmp_path: Path) -> None:
    cfg_path, key_path = write_starter(tmp_path, subscriber_id="shop.example.org", port=9123)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600 and stat.S_IMODE(cfg_path.stat().st_mode) == 0o600
    cfg = load(cfg_path)
    assert (cfg.subscriber_id, cfg.port, cfg.public_url) == (
        "shop.example.org",
        9123,
        "http://127.0.0.1:9123",
    )
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'seller.db').resolve()}"
    assert len(cfg.admin_token) >= 32 and cfg.admin_token not in repr(cfg)
    assert cfg.load_keys().signing_public_key
    other, _ = write_starter(tmp_path / "b")
    assert load(other).admin_token != cfg.admin_token and load(other).unique_key_id != cfg.unique_key_id
    with pytest.raises(ConfigError, match="exists"):
        write_starter(tmp_path)
    r = subprocess.run([*CLI, "seller", "init", "--dir", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("port = 8100", 'port = "x"'), "node.port"),
        (('token = "', 'token = "short" #'), "admin.token"),
        (("subscriber_id =", "subscriberid ="), "node.subscriber_id"),
        (("[registry]\nurl", "[registry]\nurl2"), "registry.url"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    cfg_path, _ = write_starter(tmp_path)
    text = cfg_path.read_text()
    assert change[0] in text
    cfg_path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as info:
        load(cfg_path)
    assert str(cfg_path) in str(info.value) and field in str(info.value)


def test_publish_pushes_a_signed_snapshot(tmp_path: Path) -> None:
    got: list[tuple[bytes, str]] = []

    async def publish(request: Request) -> Response:
        got.append((await request.body(), request.headers["authorization"]))
        return JSONResponse({"status": "ok"})

    with ServerThread(Starlette(routes=[Route("/catalog/publish", publish, methods=["POST"])])) as gw:
        cfg_path, _ = write_starter(tmp_path, gateway_urls=(gw.url,))
        cfg = load(cfg_path)
        node = SellerNode(cfg)
        node.ensure_store()
        now = datetime.now(UTC)
        store_catalog.put_item(
            node.store, Item("FLASK", "shop", Descriptor("Steel flask"), Money(50_000, "INR")), now
        )
        store_stock.receive(node.store, "FLASK", "shop-main", 7, now)
        node.store.engine.dispose()
        r = subprocess.run(
            [*CLI, "seller", "publish", "--config", str(cfg_path)], capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
    body, auth = got[0]
    pub = parse_publication(body)
    assert pub.bpp_id == cfg.subscriber_id and pub.kind == "snapshot"
    items = pub.catalog["providers"][0]["items"]
    assert [(i["id"], i["price"]["value"], i["quantity"]["available"]["count"]) for i in items] == [
        ("FLASK", "500.00", 7)
    ]
    verify(auth, body, cfg.load_keys().signing_public_key)
    nogw, _ = write_starter(tmp_path / "none")
    r = subprocess.run([*CLI, "seller", "publish", "--config", str(nogw)], capture_output=True, text=True)
    assert r.returncode == 2 and "no gateway" in r.stderr

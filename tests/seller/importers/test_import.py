"""Catalog import: Shopify's product export, Mercato CSV and JSON; all or nothing, errors name the
file, line and column; the CLI exits 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mercato.seller.config import write_starter
from mercato.seller.domain import Address, Descriptor, GeoPoint, Location, Provider
from mercato.seller.importers import CatalogImportError, import_file
from mercato.seller.store import Store, open_store
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import stock as store_stock
from mercato.seller.store.tables import ItemRow, LedgerRow

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    store_catalog.put_provider(s, Provider("shop", Descriptor("Shop")), NOW)
    loc = Location("main", "shop", Address("1 Road", "std:080", "560001"), GeoPoint.parse("12.9,77.6"))
    store_catalog.put_location(s, loc, NOW)
    return s


def snapshot(store: Store) -> tuple[int, int, dict[tuple[str, str], object]]:
    with store.read() as s:
        items = s.scalar(select(func.count()).select_from(ItemRow)) or 0
        ledger = s.scalar(select(func.count()).select_from(LedgerRow)) or 0
    return items, ledger, dict(store_stock.levels(store))


def run(store: Store, path: Path, fmt: str = "auto") -> object:
    return import_file(store, path, provider_id="shop", location_id="main", fmt=fmt, now=NOW)


def test_shopify_export(store: Store) -> None:
    summary = run(store, DATA / "shopify_products.csv")
    assert (summary.items, summary.categories, summary.skipped) == (4, 2, 1)  # type: ignore[attr-defined]
    cat = store_catalog.load_all(store)
    assert sorted(cat.items) == ["KW-LS-L-IND", "KW-LS-M-NAT", "KW-LS-S-NAT", "ceramic-mug-1"]
    s = cat.items["KW-LS-S-NAT"]
    assert s.descriptor.name == "Linen shirt - S / Natural" and s.price.amount == 149_900
    assert s.parent_item_id == "linen-shirt" and [(o.name, o.value) for o in s.options] == [
        ("Size", "S"),
        ("Colour", "Natural"),
    ]
    assert s.descriptor.long_desc == "Soft linen , cut in Jaipur. Wash cold & dry flat."
    assert s.descriptor.short_desc == "by Kora Weaves" and s.category_id == "shirts"
    assert len(s.descriptor.images) == 4 and cat.categories["shirts"].name == "Shirts"
    mug = cat.items["ceramic-mug-1"]
    assert mug.parent_item_id is None and mug.options == () and mug.price.amount == 45_000
    levels = store_stock.levels(store)
    assert levels[("KW-LS-M-NAT", "main")].on_hand == 20 and levels[("ceramic-mug-1", "main")].on_hand == 7
    assert levels[("KW-LS-L-IND", "main")].backorder is True
    assert "POSTER-1" not in cat.items
    # importing again changes nothing but stock set to the file's counts (idempotent)
    store_stock.adjust(store, "ceramic-mug-1", "main", -2, NOW, "count")
    run(store, DATA / "shopify_products.csv")
    assert store_stock.levels(store)[("ceramic-mug-1", "main")].on_hand == 7
    assert store_stock.replay_matches(store)


def test_native_csv_and_json(store: Store, tmp_path: Path) -> None:
    csv_file = tmp_path / "items.csv"
    csv_file.write_text(
        "id,name,price,category,options,images,tax_rate_bp,returnable,return_window_days,fulfillment,stock\n"
        "TEA,Assam tea,250.00,tea,size=250g,https://x.example/tea.jpg,500,true,7,Delivery|Self-Pickup,30\n"
        'POT,Tea pot,"1,200.50",tea,,,1800,false,,Delivery,4\n'
    )
    assert run(store, csv_file).items == 2  # type: ignore[attr-defined]
    cat = store_catalog.load_all(store)
    assert cat.items["POT"].price.amount == 120_050 and cat.items["TEA"].returnable
    assert len(cat.items["TEA"].fulfillment_types) == 2
    json_file = tmp_path / "items.json"
    json_file.write_text(
        '{"categories": [{"id": "gifts", "name": "Gifts"}],\n "items": [\n'
        '  {"id": "BOX", "name": "Gift box", "price": 99.5, "category": "gifts", "stock": 3,\n'
        '   "options": {"colour": "red"}, "max_quantity": 5}\n]}\n'
    )
    run(store, json_file)
    box = store_catalog.load_all(store).items["BOX"]
    assert box.price.amount == 9_950 and box.max_quantity == 5 and box.category_id == "gifts"


BAD_CSV = [
    ("id,name,price\nA,Apple,12.00\nB,Banana,twelve\n", 3, "price", "not an amount"),
    ("id,name,price\nA,Apple,12.001\n", 2, "price", "not a non-negative amount"),
    ("id,name\nA,Apple\n", 1, "price", "missing column"),
    ("id,name,price,colour\nA,Apple,1,red\n", 1, "colour", "unknown column"),
    ("id,name,price\nA,Apple,1\nA,Again,2\n", 3, None, "already used on line 2"),
    ("id,name,price,images\nA,Apple,1,ftp://x/a.jpg\n", 2, None, "image URL"),
    ("id,name,price,stock\nA,Apple,1,-3\n", 2, "stock", "at least 0"),
    ("id,name,price,stock,location\nA,Apple,1,3,nowhere\n", 2, None, "nowhere"),
    ("id,name,price\nA,,1\n", 2, "name", "name is required"),
    ("id,name,price,returnable\nA,Apple,1,maybe\n", 2, "returnable", "true/false"),
    ("id,name,price,returnable\nA,Apple,1,true\n", 2, None, "return window"),
    ('id,name,price\nA,Apple,1\nB,"Ban,ana,2\n', 3, None, "fields"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), BAD_CSV)
def test_bad_csv_names_line_and_column_and_stores_nothing(
    store: Store, tmp_path: Path, text: str, line: int, column: str | None, message: str
) -> None:
    run(store, DATA / "shopify_products.csv")
    before = snapshot(store)
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(CatalogImportError) as info:
        run(store, f, "csv")
    err = info.value
    assert (err.file, err.line, err.column) == (str(f), line, column), str(err)
    assert message in err.message and str(err).startswith(f"{f}:{line}:")
    assert snapshot(store) == before


def test_bad_json_and_shopify(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{"items": [\n  {"id": "A", "name": "Apple", "price": 1},\n  {"id": "B" "name": "B"}\n]}')
    with pytest.raises(CatalogImportError) as info:
        run(store, f)
    assert info.value.line == 3 and "not JSON" in info.value.message
    second = '  {"id": "B", "name": "B", "price": "x"}\n]}'
    f.write_text('{"items": [\n  {"id": "A", "name": "Apple", "price": 1},\n' + second)
    with pytest.raises(CatalogImportError) as info:
        run(store, f)
    assert (info.value.line, info.value.column) == (3, "items[1].price")
    shop = (DATA / "shopify_products.csv").read_text().replace("1599.00", "16 dollars")
    g = tmp_path / "shop.csv"
    g.write_text(shop)
    with pytest.raises(CatalogImportError) as info:
        run(store, g)
    assert (info.value.line, info.value.column) == (5, "Variant Price")  # the multi-line body counts
    assert snapshot(store)[0] == 0


def test_cli_import_exit_codes(tmp_path: Path) -> None:
    cfg, _ = write_starter(tmp_path)
    cli = [sys.executable, "-c", "from mercato.cli import main; main()", "catalog", "import"]
    # the node's provider and location are made when it first starts; the CLI needs them: start-free way
    from mercato.seller.config import load
    from mercato.seller.node import SellerNode

    SellerNode(load(cfg)).ensure_store()
    ok = subprocess.run(
        [*cli, str(DATA / "shopify_products.csv"), "--config", str(cfg)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "imported 4 items" in ok.stdout and "1 skipped" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,price\nA,Apple,cheap\n")
    r = subprocess.run([*cli, str(bad), "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:2: column 'price'" in r.stderr
    missing = subprocess.run(
        [*cli, str(tmp_path / "none.csv"), "--config", str(cfg)], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr

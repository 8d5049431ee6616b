"""The local network's plan: seeded shops, generated configs, per-role databases."""

from __future__ import annotations

import tomllib
from pathlib import Path

from mercato.network import seeds
from mercato.network.local import NetworkPlan, native_catalog, set_toml_values


def test_the_first_four_shops_are_the_four_kinds_and_later_ones_differ() -> None:
    shops = [seeds.shop_for(i) for i in range(10)]
    assert [s.kind for s in shops[:4]] == ["grocery", "electronics", "fashion", "manufacturer"]
    names = [s.name for s in shops]
    assert len(set(names)) == len(names)
    assert len({seeds.slug(s) for s in shops}) == len(shops)
    base, variant = shops[0], shops[4]
    assert [i.sku for i in base.items] == [i.sku for i in variant.items]
    assert [i.price for i in base.items] != [i.price for i in variant.items]
    for shop in shops:
        assert all(i.price > 0 and i.stock > 0 for i in shop.items)


def test_native_catalog_uses_major_units_and_return_windows() -> None:
    doc = native_catalog(seeds.GROCERY)
    atta = next(i for i in doc["items"] if i["id"] == "atta-5kg")
    assert atta["price"] == "285.00" and atta["stock"] == 120 and atta["time_to_ship_hours"] == 4
    assert atta["returnable"] is True and atta["return_window_days"] == 2
    milk = next(i for i in doc["items"] if i["id"] == "milk-toned-1l")
    assert milk["returnable"] is False and "return_window_days" not in milk
    assert {c["id"] for c in doc["categories"]} == {i["category"] for i in doc["items"]}


def test_set_toml_values_edits_only_the_named_section() -> None:
    text = '[node]\nport = 1\nname = "a"\n\n[store]\nname = "My shop"\ncity = "x"\n'
    out = tomllib.loads(set_toml_values(text, {("store", "name"): 'Kora "Handloom"', ("node", "port"): 8011}))
    assert out == {"node": {"port": 8011, "name": "a"}, "store": {"name": 'Kora "Handloom"', "city": "x"}}


def test_each_role_gets_its_own_database(tmp_path: Path) -> None:
    plan = NetworkPlan(tmp_path, sellers=2)
    assert plan.db_url("registry", tmp_path / "r.db") == f"sqlite:///{tmp_path / 'r.db'}"
    pg = NetworkPlan(tmp_path, sellers=2, postgres="postgresql://u@h/db?sslmode=disable&schema=t1")
    assert pg.db_url("seller_namma-fresh", tmp_path) == (
        "postgresql://u@h/db?sslmode=disable&schema=t1_seller_namma_fresh"
    )
    plain = NetworkPlan(tmp_path, postgres="postgresql://u@h/db")
    assert plain.db_url("buyer", tmp_path).endswith("/db?schema=mercato_buyer")


def test_addresses_default_to_loopback_and_follow_the_plan(tmp_path: Path) -> None:
    plan = NetworkPlan(
        tmp_path, sellers=4, addresses={"registry": "10.1.2.3", "seller-peenya-steelworks": "10.1.2.4"}
    )
    assert plan.registry_url == "http://10.1.2.3:8001"
    assert plan.gateway_url == "http://127.0.0.1:8002"
    assert [n.url for n in plan.seller_nodes][-1] == "http://10.1.2.4:8014"

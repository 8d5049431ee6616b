"""The catalog index on SQLite and PostgreSQL: versions, deltas and queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mercato.gateway.index.query import IndexQuery, QueryError, from_params
from mercato.gateway.index.store import CatalogIndex, SnapshotRequired, StaleVersion
from mercato.protocol.catalog_publish import ItemRef, build_publication, parse_publication


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request: pytest.FixtureRequest) -> Iterator[CatalogIndex]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    idx = CatalogIndex.open(url)
    yield idx
    idx.close()


def item(iid: str, name: str, cat: str, loc: str, price: str, desc: str = "") -> dict[str, Any]:
    return {
        "id": iid,
        "descriptor": {"name": name, "short_desc": desc},
        "category_ids": [cat],
        "location_ids": [loc],
        "price": {"currency": "INR", "value": price},
    }


def shop(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "providers": [
            {
                "id": "p1",
                "descriptor": {"name": "Corner shop"},
                "categories": [
                    {"id": "grocery", "descriptor": {"name": "Grocery staples"}},
                    {"id": "phones", "descriptor": {"name": "Mobile phones"}},
                ],
                "locations": [
                    {"id": "blr", "city": {"code": "std:080"}},
                    {"id": "del", "city": {"code": "std:011"}},
                ],
                "items": items,
            }
        ]
    }


def publish(idx: CatalogIndex, bpp: str, version: int, items: list[dict[str, Any]], **kw: Any) -> int:
    body = build_publication(
        bpp_id=bpp,
        bpp_uri=f"https://{bpp}/beckn",
        domain="ONDC:RET10",
        cities=["std:080", "std:011"],
        version=version,
        catalog=shop(items),
        published_at="2026-01-05T10:00:00.000Z",
        **kw,
    )
    return idx.apply(parse_publication(body), body, f"sig-{bpp}-{version}")


BASE = [
    item("rice", "Basmati rice 5kg", "grocery", "blr", "450.00", "long grain aged rice"),
    item("dal", "Toor dal 1kg", "grocery", "del", "160.50"),
    item("phone", "Android phone 128GB", "phones", "blr", "12999.00", "dual sim"),
    item("brown", "Brown rice 1kg", "grocery", "del", "99.99"),
]


def ids(idx: CatalogIndex, **kw: Any) -> set[str]:
    return {h.item_id for h in idx.search(IndexQuery(**kw))}


def test_queries_by_text_category_city_and_price(index: CatalogIndex) -> None:
    assert publish(index, "a.test", 1, BASE) == 4
    assert ids(index, terms=("rice",)) == {"rice", "brown"}
    assert ids(index, terms=("rice", "basmati")) == {"rice"}
    assert ids(index, terms=("grain",)) == {"rice"}  # short_desc is searched
    assert ids(index, terms=("staples",)) == {"rice", "dal", "brown"}  # category names too
    assert ids(index, terms=("rice",), city="std:011") == {"brown"}
    assert ids(index, category="phones") == {"phone"}
    assert ids(index, category="grocery", city="std:011") == {"dal", "brown"}
    assert ids(index, terms=("rice",), category="grocery", city="std:080") == {"rice"}
    assert ids(index, category="phones", city="std:011") == set()
    # a seller selling everywhere (city "*") matches every city
    body = build_publication(
        bpp_id="everywhere.test",
        bpp_uri="https://everywhere.test/beckn",
        domain="ONDC:RET10",
        cities=["*"],
        version=1,
        catalog={
            "providers": [
                {
                    "id": "p",
                    "items": [
                        {"id": "salt", "descriptor": {"name": "Sea salt"}, "category_ids": ["grocery"]}
                    ],
                }
            ]
        },
        published_at="2026-01-05T10:00:00.000Z",
    )
    index.apply(parse_publication(body), body, "sig")
    assert ids(index, category="grocery", city="std:011") == {"dal", "brown", "salt"}
    assert ids(index, terms=("salt",), city="std:999") == {"salt"}
    assert ids(index, terms=("salt",), min_price=1) == set()  # no price: never in a price range
    assert ids(index, terms=("rice",), category="phones") == set()
    assert ids(index, min_price=10000, max_price=50000) == {"rice", "dal"}
    assert ids(index, terms=("rice",), max_price=10000) == {"brown"}
    assert ids(index, domain="ONDC:RET11") == set()
    assert ids(index, terms=("RICE",)) == {"rice", "brown"}  # case does not matter
    assert ids(index, terms=("nothing",)) == set()
    hits = index.search(IndexQuery(terms=("phone",)))
    assert [(h.bpp_id, h.version, h.price_minor, h.currency) for h in hits] == [("a.test", 1, 1299900, "INR")]
    assert hits[0].item["price"] == {"currency": "INR", "value": "12999.00"}
    assert len(index.search(IndexQuery(limit=2))) == 2


def test_snapshots_deltas_and_versions(index: CatalogIndex) -> None:
    publish(index, "a.test", 3, BASE)
    publish(index, "b.test", 1, BASE[:1])
    with pytest.raises(StaleVersion):
        publish(index, "a.test", 3, BASE)  # a replay
    with pytest.raises(StaleVersion):
        publish(index, "a.test", 2, BASE)
    with pytest.raises(SnapshotRequired) as gap:
        publish(index, "a.test", 6, [], kind="delta", base_version=5)
    assert gap.value.current == 3
    with pytest.raises(SnapshotRequired):
        publish(index, "new.test", 2, [], kind="delta", base_version=1)
    # a delta: change the dal's price, add oats, remove the phone
    changed = item("dal", "Toor dal 1kg", "grocery", "del", "149.00")
    oats = item("oats", "Rolled oats", "grocery", "blr", "120.00")
    publish(
        index, "a.test", 4, [changed, oats], kind="delta", base_version=3, removed=[ItemRef("p1", "phone")]
    )
    assert index.version("a.test") == 4
    assert ids(index, category="phones") == set()
    (dal,) = index.search(IndexQuery(terms=("toor",)))
    assert (dal.price_minor, dal.version) == (14900, 4)
    assert {h.version for h in index.search(IndexQuery(terms=("rice",), domain="ONDC:RET10"))} == {1, 3}
    assert index.count() == 4 + 1
    # both publications stay stored while items come from them; a snapshot replaces everything
    assert index.publication_of("a.test", 3) is not None and index.publication_of("a.test", 4) is not None
    publish(index, "a.test", 9, BASE[:1])
    assert index.publication_of("a.test", 3) is None
    assert ids(index, terms=("toor",)) == set()
    assert index.count() == 2
    stored = index.publication_of("a.test", 9)
    assert stored is not None and stored.authorization == "sig-a.test-9" and stored.kind == "snapshot"


def test_query_parameters() -> None:
    q = from_params({"q": "Basmati Rice!", "city": "*", "min_price": "10.5", "limit": "5"})
    assert q == IndexQuery(terms=("basmati", "rice"), min_price=1050, limit=5)
    for bad in ({"limit": "0"}, {"limit": "x"}, {"min_price": "1.234"}, {"min_price": "9", "max_price": "1"}):
        with pytest.raises(QueryError):
            from_params(bad)

"""The checkout path's combined reads and plain-SQL writes (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mercato.seller.domain import LineRequest, StockBook, UnknownEntity
from mercato.seller.store import Store, catalog, stock
from mercato.seller.store.checkout import (
    Basket,
    before_confirm,
    quote,
    quote_for_init,
    save_quote,
    stored_answer,
    stored_quote,
)

from .helpers import T0, buy, check_invariants, inr, make_shop

BASKET = Basket("P1", [LineRequest("HOT", 2), LineRequest("TEA", 1)], city="std:080")


def test_quote_for_init_reads_the_quote_catalog_and_stored_quote(store: Store) -> None:
    make_shop(store)
    q, cat, stored = quote_for_init(store, BASKET, "bap.example", "t1")
    assert q == quote(store, BASKET) and stored is None
    assert set(cat.items) == {"HOT", "TEA"} and set(cat.locations) == {"L1", "L2"}
    assert q.delivery == inr(4_000)  # the provider's delivery policy came with the catalog
    save_quote(store, "bap.example", "t1", q, "select", T0)
    assert stored_quote(store, "bap.example", "t1") == (q, {})
    save_quote(store, "bap.example", "t1", q, "init", T0, {"billing": {"name": "A"}})
    save_quote(store, "bap.example", "t1", q, "init", T0)  # no details: the stored ones stay
    _, _, stored = quote_for_init(store, BASKET, "bap.example", "t1")
    assert stored == (q, {"billing": {"name": "A"}})
    assert quote_for_init(store, BASKET, "other.example", "t1")[2] is None


def test_quote_for_init_sees_catalog_changes_and_refuses_unknowns(store: Store) -> None:
    make_shop(store)
    item = catalog.load_all(store).item("HOT")
    catalog.put_item(store, replace(item, price=inr(26_000)), T0)
    q, _, _ = quote_for_init(store, BASKET, "bap.example", "t2")
    assert q.line("HOT").unit_price == inr(26_000)
    catalog.deactivate_item(store, "TEA", T0)
    with pytest.raises(UnknownEntity):
        quote_for_init(store, BASKET, "bap.example", "t2")
    with pytest.raises(UnknownEntity):
        quote_for_init(store, replace(BASKET, provider_id="nobody"), "bap.example", "t2")


def test_before_confirm_gives_the_stored_answer_or_the_stored_quote(store: Store) -> None:
    make_shop(store)
    assert before_confirm(store, "bap.example", "t3") == (None, None)
    q = quote(store, BASKET)
    save_quote(store, "bap.example", "t3", q, "init", T0, {"billing": {"name": "B"}})
    assert before_confirm(store, "bap.example", "t3") == (None, (q, {"billing": {"name": "B"}}))
    res = buy(store, {"HOT": 2, "TEA": 1}, txn="t3")
    answer, stored = before_confirm(store, "bap.example", "t3")
    assert answer == stored_answer(store, "bap.example", "t3") and stored is None
    assert answer is not None and answer.order_id == res.order_id and answer.response == res.response
    check_invariants(store)


def test_write_back_creates_a_missing_level_row(store: Store) -> None:
    make_shop(store)
    book = StockBook()
    entry = book.receive("MUG", "L1", 4, T0, "found")  # MUG has no row at L1 yet
    with store.write() as s:
        stock.write_back(s, book, [entry])
    assert stock.levels(store)[("MUG", "L1")].on_hand == 4
    check_invariants(store)

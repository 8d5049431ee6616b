"""The storefront's search logic without I/O: offers from results, filters, sorting, tiers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.buyer.web_search import (
    SORTS,
    Filters,
    Offer,
    apply,
    offers_from_results,
    parse_duration,
    parse_filters,
    parse_money,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def offer(i: int, price: int | None, promise: date | None, rating: float | None, seller: str) -> Offer:
    return Offer(
        bpp_id=f"{seller}.test", bpp_uri="http://x", provider_id=seller, provider_name=seller,
        item_id=f"i{i}", name=f"Item {i}", price=price, currency="INR", category=None, available=None,
        ships_in=None, promise=promise, rating=rating, rank=i,
    )  # fmt: skip


offers_st = st.lists(
    st.builds(
        lambda i, p, d, r, s: (i, p, d, r, s),
        st.integers(0, 10**6),
        st.one_of(st.none(), st.integers(0, 10**9)),
        st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
        st.one_of(st.none(), st.floats(0, 5)),
        st.sampled_from(["alpha", "Beta", "gamma"]),
    ),
    max_size=30,
).map(lambda rows: [offer(k, *row[1:]) for k, row in enumerate(rows)])


@given(offers_st, st.sampled_from(list(SORTS)), st.one_of(st.none(), st.integers(0, 10**9)))
def test_sorting_and_filtering_keep_exactly_the_matching_offers(
    offers: list[Offer], sort: str, cap: int | None
) -> None:
    f = Filters(sort=sort, max_price=cap)
    out = apply(offers, f)
    expected = [o for o in offers if cap is None or (o.price is not None and o.price <= cap)]
    assert sorted(o.rank for o in out) == sorted(o.rank for o in expected)
    if sort == "price":
        prices = [o.price for o in out if o.price is not None]
        assert prices == sorted(prices)
        assert all(o.price is not None for o in out[: len(prices)])  # unpriced last
    if sort == "price_desc":
        prices = [o.price for o in out if o.price is not None]
        assert prices == sorted(prices, reverse=True)
    if sort == "rating":
        rated = [o.rating for o in out if o.rating is not None]
        assert rated == sorted(rated, reverse=True)
        assert all(o.rating is not None for o in out[: len(rated)])
    if sort == "delivery":
        dated = [o.promise for o in out if o.promise is not None]
        assert dated == sorted(dated)
    if sort == "seller":
        names = [o.provider_name.lower() for o in out]
        assert names == sorted(names)
    if sort == "relevance":
        assert [o.rank for o in out] == sorted(o.rank for o in out)


@given(offers_st, st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_delivered_by_keeps_only_offers_with_an_earlier_promise(offers: list[Offer], by: date) -> None:
    out = apply(offers, Filters(deliver_by=by))
    assert all(o.promise is not None and o.promise <= by for o in out)
    assert len(out) == sum(1 for o in offers if o.promise is not None and o.promise <= by)


@given(st.integers(0, 10**10))
def test_money_parses_back_from_its_decimal_text(minor: int) -> None:
    assert parse_money(f"{minor // 100}.{minor % 100:02d}") == minor
    assert parse_money(f"{minor // 100:,}") == (minor // 100) * 100


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.234", "1e400", "NaN", "inf", "10000000000001"])
def test_bad_money_is_refused(bad: str) -> None:
    assert parse_money(bad) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("PT4H", timedelta(hours=4)), ("P2D", timedelta(days=2)), ("PT3600S", timedelta(hours=1)),
     ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)), ("P", None), ("PT", None), ("4 hours", None),
     (None, None), (42, None)],
)  # fmt: skip
def test_durations(text: Any, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected


def test_every_bad_filter_gets_its_own_message() -> None:
    f, errors = parse_filters(
        {"q": "x" * 101, "category": "c" * 101, "city": "Pune", "min": "-5", "max": "x", "by": "31/12/2026",
         "sort": "cheapest"}
    )  # fmt: skip
    assert set(errors) == {"q", "category", "city", "min", "max", "by", "sort"}
    f, errors = parse_filters({"q": "rice", "min": "9", "max": "5"})
    assert set(errors) == {"max"}
    f, errors = parse_filters(
        {"q": " rice ", "city": "std:080", "min": "1.5", "by": "2026-12-01", "sort": "rating"}
    )
    assert errors == {} and f.text == "rice" and f.min_price == 150 and f.deliver_by == date(2026, 12, 1)
    assert f.searchable and not parse_filters({})[0].searchable


def test_offers_read_tiers_pools_ratings_and_skip_malformed_results() -> None:
    results: list[Any] = [
        {"bpp_id": None, "provider_id": "p", "items": [{"id": "x"}]},  # no seller: skipped
        {"bpp_id": "s", "provider_id": "p", "items": [None, {"name": "no id"}]},
        {
            "bpp_id": "s", "provider_id": "p", "provider_rating": "4.5", "cities": ["std:080"],
            "items": [
                {"id": "a", "price": 1000, "price_breaks": [{"min_quantity": 10, "price": 900},
                                                            {"min_quantity": "x", "price": 1}],
                 "time_to_ship": "P1D", "rating": "9"},
                {"id": "b", "price": 500, "pool": {"pool": "run-1", "coordinator": "http://c/"}},
                {"id": "c", "price": 500, "pool": {"pool": "run-1", "coordinator": "ftp://c"}},
            ],
        },
    ]  # fmt: skip
    got = {o.item_id: o for o in offers_from_results(results, NOW)}
    assert set(got) == {"a", "b", "c"}
    a = got["a"]
    assert a.price_breaks == ((10, 900),) and a.rating == 4.5  # the item's "9" is no rating: the seller's
    assert a.promise == date(2026, 11, 27) and a.cities == ("std:080",)
    assert a.unit_price(9) == 1000 and a.unit_price(10) == 900
    assert a.next_tier(3) == (7, 900) and a.next_tier(10) is None
    assert (got["b"].pool, got["b"].coordinator) == ("run-1", "http://c")
    assert got["c"].pool is None  # a coordinator that is no http(s) URL is ignored


def test_local_ratings_fill_in_when_the_seller_publishes_none() -> None:
    results = [
        {"bpp_id": "s", "provider_id": "p", "items": [{"id": "a", "price": 1}]},
        {"bpp_id": "t", "provider_id": "q", "provider_rating": "3", "items": [{"id": "b", "price": 1}]},
        {"bpp_id": "u", "provider_id": "r", "items": [{"id": "c", "price": 1}]},
    ]
    local = {("s", "p"): (4.5, 2), ("t", "q"): (1.0, 9)}
    got = {o.item_id: o for o in offers_from_results(results, NOW, local)}
    assert (got["a"].rating, got["a"].ratings) == (4.5, 2)
    assert (got["b"].rating, got["b"].ratings) == (3.0, 0)  # the seller's own rating wins
    assert (got["c"].rating, got["c"].ratings) == (None, 0)
    assert [o.item_id for o in apply(got.values(), Filters(sort="rating"))] == ["a", "b", "c"]

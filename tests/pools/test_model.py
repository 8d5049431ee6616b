from __future__ import annotations

from typing import Any

import pytest

from mercato.pools.model import PoolInputError, parse_pool
from tests.pools.helpers import commitment, document, offer


def _good() -> dict[str, Any]:
    return document(
        {"m": 100},
        [offer("o", "m", [(1, 100), (10, 80)], 2, 50), offer("p", "m", [(1, 90)], 1, 20)],
        [commitment("c", 3, 95, ["o", "p"])],
    )


def _problems(doc: Any) -> list[str]:
    with pytest.raises(PoolInputError) as info:
        parse_pool(doc)
    return info.value.problems


def test_good_document_parses() -> None:
    pool = parse_pool(_good())
    assert [o.id for o in pool.offers] == ["o", "p"]
    assert pool.offer("o").price_at(9) == 100 and pool.offer("o").price_at(10) == 80
    assert pool.offer("o").tier_range(0) == (2, 9) and pool.offer("o").tier_range(1) == (10, 50)
    assert pool.commitments[0].offers == ("o", "p")


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda d: d["offers"][0].update(
                tiers=[{"min_quantity": 5, "unit_price": 100}, {"min_quantity": 5, "unit_price": 80}]
            ),
            "overlap",
        ),
        (
            lambda d: d["offers"][0].update(
                tiers=[{"min_quantity": 10, "unit_price": 100}, {"min_quantity": 5, "unit_price": 80}]
            ),
            "overlap",
        ),
        (
            lambda d: d["offers"][0].update(
                tiers=[{"min_quantity": 1, "unit_price": 80}, {"min_quantity": 5, "unit_price": 80}]
            ),
            "strictly decrease",
        ),
        (lambda d: d["offers"][0].update(tiers=[]), "at least one price tier"),
        (lambda d: d["offers"][0]["tiers"][0].update(min_quantity=0), "min_quantity must be at least 1"),
        (lambda d: d["offers"][0]["tiers"][1].update(unit_price=-1), "must not be negative"),
        (lambda d: d["offers"][0].update(moq=60), "moq 60 is above capacity 50"),
        (lambda d: d["offers"][0].update(moq=0), "moq must be at least 1"),
        (lambda d: d["offers"][0].update(capacity=0), "capacity must be at least 1"),
        (lambda d: d["offers"][0].update(tiers=[{"min_quantity": 60, "unit_price": 1}]), "above capacity"),
        (lambda d: d["offers"][0].update(currency="USD"), "does not match the pool currency"),
        (lambda d: d["offers"][0].update(manufacturer="nobody"), "unknown manufacturer"),
        (lambda d: d["offers"].append(dict(d["offers"][0])), "listed twice"),
        (lambda d: d["offers"][0].pop("moq"), "'moq' must be an integer"),
        (lambda d: d["offers"][0].update(capacity=True), "'capacity' must be an integer"),
        (lambda d: d["offers"].append(3), "expected an object"),
        (lambda d: d["commitments"][0].update(offers=["o", "zzz"]), "unknown offer 'zzz'"),
        (lambda d: d["commitments"][0].update(offers=["o", "o"]), "same offer twice"),
        (lambda d: d["commitments"][0].update(offers=[]), "no acceptable offers"),
        (lambda d: d["commitments"][0].update(offers=[7]), "must be strings"),
        (lambda d: d["commitments"][0].update(quantity=0), "quantity must be positive"),
        (lambda d: d["commitments"][0].update(quantity=-3), "quantity must be positive"),
        (lambda d: d["commitments"][0].update(max_unit_price=-1), "must not be negative"),
        (lambda d: d["commitments"][0].update(currency="EUR"), "does not match the pool currency"),
        (lambda d: d["commitments"][0].update(expires_at="2026-11-24T00:00:00Z"), "expired"),
        (lambda d: d["commitments"][0].update(expires_at=d["cleared_at"]), "expired"),
        (lambda d: d["commitments"][0].update(expires_at="tomorrow"), "not an RFC 3339 time"),
        (lambda d: d["commitments"][0].update(expires_at="2026-12-01T00:00:00"), "no time zone"),
        (lambda d: d["commitments"].append(dict(d["commitments"][0])), "listed twice"),
        (lambda d: d["commitments"].append("x"), "expected an object"),
        (lambda d: d.update(cleared_at=5), "cleared_at"),
        (lambda d: d.update(currency=""), "'currency' must be a non-empty string"),
        (lambda d: d.update(offers={}), "'offers' must be a list"),
        (lambda d: d["manufacturers"].append({"id": "m", "capacity": 1}), "listed twice"),
        (lambda d: d["manufacturers"][0].update(capacity=-1), "must not be negative"),
        (lambda d: d["manufacturers"].append(1), "expected an object"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(mutate: Any, needle: str) -> None:
    doc = _good()
    mutate(doc)
    problems = _problems(doc)
    assert any(needle in p for p in problems), problems


def test_not_an_object() -> None:
    assert _problems([1]) == ["the document must be a JSON object"]


def test_every_problem_is_reported_at_once() -> None:
    doc = _good()
    doc["offers"][0]["moq"] = 99
    doc["commitments"][0]["quantity"] = 0
    problems = _problems(doc)
    assert any("offer 'o'" in p and "moq 99" in p for p in problems)
    assert any("commitment 'c'" in p and "quantity" in p for p in problems)

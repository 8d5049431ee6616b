from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.seller.domain import CurrencyMismatch, InvalidInput, Money
from mercato.seller.domain.money import allocate, round_half_up, tax, total


def test_arithmetic_and_comparison() -> None:
    a, b = Money(1050, "INR"), Money(250, "INR")
    assert a + b == Money(1300, "INR")
    assert a - b == Money(800, "INR")
    assert -b == Money(-250, "INR")
    assert b.times(3) == Money(750, "INR")
    assert b < a and a > b and a >= a and b <= b
    assert a.min(b) == b and a.max(b) == a
    assert total([a, b, b], "INR") == Money(1550, "INR")
    assert str(a) == "10.50 INR"


@pytest.mark.parametrize("op", ["add", "sub", "lt", "le", "gt", "ge"])
def test_currency_mismatch_is_refused(op: str) -> None:
    a, b = Money(100, "INR"), Money(100, "USD")
    with pytest.raises(CurrencyMismatch) as e:
        getattr(a, f"__{op}__")(b)
    assert e.value.currencies == ("INR", "USD")


@pytest.mark.parametrize("bad", [1.5, True, "10", None])
def test_amount_must_be_an_integer(bad: object) -> None:
    with pytest.raises(InvalidInput):
        Money(bad, "INR")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["inr", "RUPEE", "IN", "", "12A"])
def test_currency_must_be_iso_code(bad: str) -> None:
    with pytest.raises(InvalidInput):
        Money(1, bad)


@pytest.mark.parametrize(
    ("text", "cur", "minor"),
    [
        ("123.45", "INR", 12345),
        ("0.5", "INR", 50),
        ("7", "INR", 700),
        ("-1.05", "INR", -105),
        ("1500", "JPY", 1500),
        ("1.250", "KWD", 1250),
        ("2.10", "INR", 210),
        ("3.000", "INR", 300),
    ],
)
def test_parse_and_format(text: str, cur: str, minor: int) -> None:
    m = Money.parse(text, cur)
    assert m == Money(minor, cur)
    assert Money.parse(m.to_decimal(), cur) == m


def test_format_pads_minor_units() -> None:
    assert Money(5, "INR").to_decimal() == "0.05"
    assert Money(-5, "INR").to_decimal() == "-0.05"
    assert Money(1500, "JPY").to_decimal() == "1500"
    assert Money(1, "KWD").to_decimal() == "0.001"


@pytest.mark.parametrize(
    ("text", "cur"),
    [("1.234", "INR"), ("1.5", "JPY"), ("abc", "INR"), ("1e3", "INR"), ("", "INR"), (".5", "INR")],
)
def test_parse_rejects(text: str, cur: str) -> None:
    with pytest.raises(InvalidInput):
        Money.parse(text, cur)


def test_tax_rounds_half_away_from_zero() -> None:
    # 18% of 2.50 = 0.45 exactly; 18% of 0.25 = 0.045 -> 0.05; 5% of 0.10 = 0.005 -> 0.01
    assert tax(Money(250, "INR"), 1800) == Money(45, "INR")
    assert tax(Money(25, "INR"), 1800) == Money(5, "INR")
    assert tax(Money(10, "INR"), 500) == Money(1, "INR")
    assert tax(Money(9, "INR"), 500) == Money(0, "INR")  # 0.0045 rounds down
    assert tax(Money(-25, "INR"), 1800) == Money(-5, "INR")
    with pytest.raises(InvalidInput):
        tax(Money(1, "INR"), 10_001)
    with pytest.raises(InvalidInput):
        tax(Money(1, "INR"), -1)


def test_floor_bp_never_gives_more() -> None:
    assert Money(999, "INR").floor_bp(1000) == Money(99, "INR")
    assert Money(-999, "INR").floor_bp(1000) == Money(-99, "INR")


@given(st.integers(-(10**12), 10**12), st.integers(0, 10_000))
def test_rounding_is_within_half_a_unit(amount: int, bp: int) -> None:
    got = Money(amount, "INR").apply_bp(bp).amount
    exact_times_2 = 2 * amount * bp  # compare 2*got*10000 with 2*amount*bp, no floats
    assert abs(2 * got * 10_000 - exact_times_2) <= 10_000
    assert got == round_half_up(amount * bp, 10_000)


@given(st.integers(-(10**9), 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_allocate_adds_up_and_is_proportional(whole: int, weights: list[int]) -> None:
    parts = allocate(Money(whole, "INR"), weights)
    assert sum(p.amount for p in parts) == whole
    ws = weights if any(weights) else [1] * len(weights)
    for p, w in zip(parts, ws, strict=True):
        # each part is within one minor unit of its exact share
        assert abs(p.amount * sum(ws) - whole * w) < sum(ws)


def test_allocate_rejects_bad_weights() -> None:
    with pytest.raises(InvalidInput):
        allocate(Money(10, "INR"), [1, -1])
    with pytest.raises(InvalidInput):
        allocate(Money(10, "INR"), [])
    assert allocate(Money(0, "INR"), []) == []

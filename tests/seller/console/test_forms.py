"""Form fields checked on the server: amounts in major units to exact minor units, integers, choices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.seller.console import forms


@given(st.integers(0, 10**14), st.sampled_from(["INR", "JPY", "KWD", "USD"]))
def test_amounts_round_trip_through_the_field(minor: int, currency: str) -> None:
    errors: forms.Errors = {}
    assert forms.money({"price": forms.major(minor, currency)}, "price", currency, errors) == minor
    assert errors == {}


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [("499.50", "INR", 49950), ("1,299", "INR", 129900), (" 7 ", "JPY", 7), ("0.125", "KWD", 125)],
)
def test_typed_amounts(raw: str, currency: str, expected: int) -> None:
    errors: forms.Errors = {}
    assert forms.money({"p": raw}, "p", currency, errors) == expected and not errors


@pytest.mark.parametrize(
    ("raw", "allow_zero", "message"),
    [
        ("", True, "required"),
        ("abc", True, "not an amount"),
        ("4.999", True, "not an amount"),  # more decimals than INR has
        ("-5", True, "negative"),
        ("0", False, "more than zero"),
        ("1e5", True, "not an amount"),
        ("99999999999999999", True, "too large"),
    ],
)
def test_bad_amounts_say_why(raw: str, allow_zero: bool, message: str) -> None:
    errors: forms.Errors = {}
    assert forms.money({"p": raw}, "p", "INR", errors, allow_zero=allow_zero) is None
    assert message in errors["p"]


@given(st.integers(-(10**9), 10**9))
def test_integers(n: int) -> None:
    errors: forms.Errors = {}
    assert forms.integer({"n": str(n)}, "n", errors) == n and not errors


@pytest.mark.parametrize(
    ("raw", "kw", "message"),
    [
        ("", {}, "required"),
        ("1.5", {}, "whole number"),
        ("ten", {}, "whole number"),
        ("1" * 30, {}, "whole number"),
        ("0", {"nonzero": True}, "not be zero"),
        ("0", {"minimum": 1}, "at least 1"),
        ("11", {"maximum": 10}, "at most 10"),
    ],
)
def test_bad_integers(raw: str, kw: dict[str, int], message: str) -> None:
    errors: forms.Errors = {}
    assert forms.integer({"n": raw}, "n", errors, **kw) is None  # type: ignore[arg-type]
    assert message in errors["n"]


def test_text_and_choice() -> None:
    errors: forms.Errors = {}
    assert forms.text({"a": "  hi "}, "a", errors) == "hi" and not errors
    forms.text({}, "b", errors)
    forms.text({"c": "x" * 11}, "c", errors, max_len=10)
    assert forms.text({}, "d", errors, required=False) == ""
    forms.choice({"e": "nope"}, "e", ["yes"], errors)
    forms.choice({}, "f", ["yes"], errors)
    assert forms.choice({"g": "yes"}, "g", ["yes"], errors) == "yes"
    assert errors == {"b": "required", "c": "at most 10 characters", "e": "not one of the choices: 'nope'",
                      "f": "choose one"}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("products.csv", "products.csv"),
        ("my products (2).CSV", "my_products__2_.CSV"),
        ("..", "x.csv"),
        ("a\x00b.json", "a_b.json"),
        ("ü" * 300 + ".toml", "_" * 80 + ".toml"),
        ("", "x.csv"),
    ],
)
def test_upload_names_become_safe_file_names(name: str, expected: str) -> None:
    from mercato.seller.console.core import safe_filename

    assert safe_filename(name, "x.csv") == expected

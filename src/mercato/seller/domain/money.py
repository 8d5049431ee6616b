"""Money as integer minor units with an ISO 4217 currency code. No floats anywhere.

Rounding rule (tax and percentages): an amount times a rate in basis points is rounded to the nearest
minor unit, halves away from zero (``round_half_up``). Discount percentages are rounded *down*
(``floor_bp``) so a buyer never gets less than promised by more than one minor unit and the seller
never gives more than stated. Splitting an amount over parts (``allocate``) uses the largest-remainder
method, so the parts always add up to the whole exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import CurrencyMismatch, InvalidInput

# ISO 4217 currencies whose minor unit is not 1/100 (the default).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DECIMAL = re.compile(r"^(-?)(\d+)(?:\.(\d+))?$")
BASIS_POINTS = 10_000


def check_currency(code: str) -> str:
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise InvalidInput(f"currency must be an ISO 4217 code of three capital letters, got {code!r}")
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (INR 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(check_currency(currency), 2)


def check_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    return value


def check_bp(rate_bp: int, what: str = "rate") -> int:
    check_int(rate_bp, what)
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise InvalidInput(f"{what} must be between 0 and {BASIS_POINTS} basis points, got {rate_bp}")
    return rate_bp


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise InvalidInput("denominator must be positive")
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


@dataclass(frozen=True, order=False)
class Money:
    """An amount in minor units (paise, cents) of ``currency``."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        check_int(self.amount, "amount")
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, value: str, currency: str) -> Money:
        """Parse a Beckn decimal string ("123.45") exactly; more decimals than the currency has: error."""
        m = _DECIMAL.match(value.strip()) if isinstance(value, str) else None
        if m is None:
            raise InvalidInput(f"not a decimal amount: {value!r}")
        sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        exp = exponent(currency)
        if len(frac.rstrip("0")) > exp:
            raise InvalidInput(f"{value!r} has more decimals than {currency} allows ({exp})")
        frac = (frac + "0" * exp)[:exp]
        minor = int(whole) * 10**exp + (int(frac) if frac else 0)
        return cls(-minor if sign else minor, currency)

    def to_decimal(self) -> str:
        """The Beckn price ``value`` string, e.g. ``"123.45"``."""
        exp = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * check_int(quantity, "quantity"), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        return self if self >= other else other

    def apply_bp(self, rate_bp: int) -> Money:
        """self × rate / 10 000, rounded half away from zero (the tax rule)."""
        check_bp(rate_bp)
        return Money(round_half_up(self.amount * rate_bp, BASIS_POINTS), self.currency)

    def floor_bp(self, rate_bp: int) -> Money:
        """self × rate / 10 000 rounded toward zero (the discount-percentage rule)."""
        check_bp(rate_bp)
        value = abs(self.amount) * rate_bp // BASIS_POINTS
        return Money(value if self.amount >= 0 else -value, self.currency)

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


def tax(amount: Money, rate_bp: int) -> Money:
    """Tax on ``amount`` at ``rate_bp`` basis points (1800 = 18%), rounded half away from zero."""
    return amount.apply_bp(rate_bp)


def total(amounts: Iterable[Money], currency: str) -> Money:
    out = Money.zero(currency)
    for a in amounts:
        out = out + a
    return out


def allocate(whole: Money, weights: Sequence[int]) -> list[Money]:
    """Split ``whole`` over ``weights`` proportionally; parts add up exactly (largest remainder, ties first).

    All-zero weights split evenly. Weights must be non-negative.
    """
    if not weights:
        if whole.amount:
            raise InvalidInput("cannot allocate a non-zero amount over no parts")
        return []
    if any(check_int(w, "weight") < 0 for w in weights):
        raise InvalidInput("weights must be non-negative")
    ws = list(weights) if any(weights) else [1] * len(weights)
    wsum = sum(ws)
    sign = -1 if whole.amount < 0 else 1
    amt = abs(whole.amount)
    base = [amt * w // wsum for w in ws]
    rema = [amt * w % wsum for w in ws]
    left = amt - sum(base)
    order = sorted(range(len(ws)), key=lambda i: (-rema[i], i))
    for i in order[:left]:
        base[i] += 1
    return [Money(sign * b, whole.currency) for b in base]

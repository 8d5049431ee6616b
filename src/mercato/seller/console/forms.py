"""Server-side checks of the console's forms: each field's value or an error to show next to it.

Prices are typed in major units (``499.50``) and stored in minor units, exactly (no floats). Pure:
the functions take the submitted strings and return plain values; errors collect in a dict keyed by
the field's name, which the templates show beside that field.
"""

from __future__ import annotations

from collections.abc import Mapping

from mercato.seller.domain import DomainError, Money

Errors = dict[str, str]


def text(
    form: Mapping[str, str], name: str, errors: Errors, *, required: bool = True, max_len: int = 200
) -> str:
    value = (form.get(name) or "").strip()
    if required and not value:
        errors[name] = "required"
    elif len(value) > max_len:
        errors[name] = f"at most {max_len} characters"
    return value


def money(
    form: Mapping[str, str], name: str, currency: str, errors: Errors, *, allow_zero: bool = True
) -> int | None:
    """An amount typed in major units (``"499.50"``, ``"1,299"``) as minor units, or None + an error."""
    raw = (form.get(name) or "").strip().replace(",", "").replace("_", "")
    if not raw:
        errors[name] = "required"
        return None
    try:
        amount = Money.parse(raw, currency).amount
    except DomainError as exc:
        errors[name] = f"not an amount in {currency}: {exc.message}"
        return None
    if amount < 0 or (amount == 0 and not allow_zero):
        errors[name] = "must be more than zero" if not allow_zero else "must not be negative"
        return None
    if amount >= 10**15:
        errors[name] = "too large"
        return None
    return amount


def integer(
    form: Mapping[str, str],
    name: str,
    errors: Errors,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    nonzero: bool = False,
) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        errors[name] = "required"
        return None
    try:
        if len(raw) > 18:
            raise ValueError(raw)
        value = int(raw, 10)
    except ValueError:
        errors[name] = f"a whole number, not {raw[:40]!r}"
        return None
    if nonzero and value == 0:
        errors[name] = "must not be zero"
    elif minimum is not None and value < minimum:
        errors[name] = f"at least {minimum}"
    elif maximum is not None and value > maximum:
        errors[name] = f"at most {maximum}"
    else:
        return value
    return None


def choice(form: Mapping[str, str], name: str, allowed: Mapping[str, str] | list[str], errors: Errors) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        errors[name] = "choose one"
    elif value not in allowed:
        errors[name] = f"not one of the choices: {value[:40]!r}"
    return value


def major(amount: int, currency: str) -> str:
    """Minor units shown in major units for an input field (``49950, "INR"`` -> ``"499.50"``)."""
    return Money(amount, currency).to_decimal()

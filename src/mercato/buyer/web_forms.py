"""The storefront's forms and cart, as plain data: validation with one message per field, and the
cart's lines grouped per seller. Pure: no web framework, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mercato.buyer.cart import MAX_QUANTITY

MAX_CART_LINES = 100
PAYMENT_TERMS = {
    "ON-ORDER": "Pay now (prepaid)",
    "ON-FULFILLMENT": "Pay on delivery",
    "POST-FULFILLMENT": "Pay later (credit, after delivery)",
}
# ONDC retail 1.2 cancellation reasons a buyer may give (the seller checks them again)
BUYER_CANCEL_REASONS = {
    "006": "Not received in the promised time",
    "003": "Available at a lower price",
    "001": "The price changed",
    "010": "I want to change the address or other details",
    "009": "Wrong product delivered",
}
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{6,18}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PIN = re.compile(r"^[1-9][0-9]{5}$")
_CITY = re.compile(r"^std:\d{2,5}$")
LINE_KEYS = ("bpp_id", "bpp_uri", "provider_id", "provider_name", "item_id", "name", "price", "currency")


class FormError(ValueError):
    """A form with errors: ``errors`` maps each bad field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def parse_quantity(text: Any, name: str = "quantity") -> int:
    raw = str(text if text is not None else "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_QUANTITY:
        raise FormError({name: f"Quantity must be a whole number from 1 to {MAX_QUANTITY:,}"})
    return int(raw)


def parse_rating(text: Any) -> int:
    raw = str(text if text is not None else "").strip()
    if raw not in {"1", "2", "3", "4", "5"}:
        raise FormError({"value": "Choose from 1 to 5 stars"})
    return int(raw)


def parse_cancel_reason(text: Any) -> str:
    raw = str(text if text is not None else "").strip()
    if raw not in BUYER_CANCEL_REASONS:
        raise FormError({"reason": "Choose a reason for cancelling"})
    return raw


# --- the cart ---------------------------------------------------------------------------------


@dataclass
class SellerGroup:
    bpp_id: str
    provider_id: str
    provider_name: str
    currency: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line_total(ln) for ln in self.lines)


def unit_price(line: Mapping[str, Any]) -> int:
    """The line's price per unit at its quantity (volume tiers count)."""
    best = int(line.get("price") or 0)
    for tier in line.get("price_breaks") or ():
        if int(line["quantity"]) >= int(tier[0]) and int(tier[1]) < best:
            best = int(tier[1])
    return best


def line_total(line: Mapping[str, Any]) -> int:
    return unit_price(line) * int(line["quantity"])


def add_line(lines: Sequence[dict[str, Any]], new: Mapping[str, Any], quantity: int) -> list[dict[str, Any]]:
    """The cart with ``quantity`` more of ``new``'s item (the same seller's item adds up)."""
    out = [dict(ln) for ln in lines]
    for ln in out:
        if same_line(ln, new):
            total = int(ln["quantity"]) + quantity
            if total > MAX_QUANTITY:
                raise FormError({"quantity": f"At most {MAX_QUANTITY:,} of one item"})
            ln["quantity"] = total
            return out
    if len(out) >= MAX_CART_LINES:
        raise FormError({"quantity": f"A cart holds at most {MAX_CART_LINES} different items"})
    line = {k: new.get(k) for k in LINE_KEYS}
    line["price_breaks"] = [list(t) for t in new.get("price_breaks") or ()]
    line["quantity"] = quantity
    out.append(line)
    return out


def same_line(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("bpp_id", "provider_id", "item_id"))


def set_quantity(lines: Sequence[dict[str, Any]], index: int, quantity: int) -> list[dict[str, Any]]:
    """Change line ``index``; 0 removes it. A line that is not there is an error."""
    if not 0 <= index < len(lines):
        raise FormError({"line": "That item is no longer in your cart"})
    out = [dict(ln) for ln in lines]
    if quantity == 0:
        del out[index]
    else:
        out[index]["quantity"] = quantity
    return out


def group_by_seller(lines: Sequence[Mapping[str, Any]]) -> list[SellerGroup]:
    """Cart lines per (seller node, provider), in the order sellers first appear: one order each."""
    groups: dict[tuple[str, str], SellerGroup] = {}
    for index, ln in enumerate(lines):
        key = (str(ln["bpp_id"]), str(ln["provider_id"]))
        g = groups.get(key)
        if g is None:
            g = groups[key] = SellerGroup(
                key[0], key[1], str(ln.get("provider_name") or key[1]), str(ln.get("currency") or "INR")
            )
        g.lines.append({**ln, "index": index})
    return list(groups.values())


# --- checkout ---------------------------------------------------------------------------------

CHECKOUT_FIELDS = ("name", "phone", "email", "address", "city", "area_code", "payment")


@dataclass(frozen=True)
class Checkout:
    name: str
    phone: str
    email: str
    address: str
    city: str
    area_code: str
    payment: str

    def billing(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "phone": self.phone,
            "address": self.address,
            "city": {"code": self.city},
        }
        if self.email:
            out["email"] = self.email
        return out

    def fulfillment(self) -> dict[str, Any]:
        contact: dict[str, str] = {"phone": self.phone}
        if self.email:
            contact["email"] = self.email
        return {
            "type": "Delivery",
            "stops": [
                {
                    "type": "end",
                    "location": {
                        "address": self.address,
                        "city": {"code": self.city},
                        "area_code": self.area_code,
                    },
                    "contact": contact,
                    "person": {"name": self.name},
                }
            ],
        }

    def payment_terms(self) -> dict[str, Any]:
        return {"type": self.payment}


def parse_checkout(form: Mapping[str, Any]) -> tuple[Checkout | None, dict[str, str], dict[str, str]]:
    """The checkout form -> (the checkout or None, the values as typed, an error per field)."""
    v = {k: str(form.get(k, "") or "").strip() for k in CHECKOUT_FIELDS}
    e: dict[str, str] = {}
    if not 2 <= len(v["name"]) <= 100:
        e["name"] = "Enter the name for the delivery (2 to 100 characters)"
    if not _PHONE.match(v["phone"]):
        e["phone"] = "Enter a phone number, like +91 98450 12345"
    if v["email"] and (len(v["email"]) > 200 or not _EMAIL.match(v["email"])):
        e["email"] = "Enter an email address like name@example.com, or leave it empty"
    if not 5 <= len(v["address"]) <= 300:
        e["address"] = "Enter the delivery address (house, street, area)"
    if not _CITY.match(v["city"]):
        e["city"] = "Choose the city"
    if not _PIN.match(v["area_code"]):
        e["area_code"] = "Enter the 6-digit PIN code"
    if v["payment"] not in PAYMENT_TERMS:
        e["payment"] = "Choose how to pay"
    if e:
        return None, v, e
    return Checkout(**v), v, {}

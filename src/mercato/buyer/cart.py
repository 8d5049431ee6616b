"""Splitting a cart into orders: one order per seller node and provider.

A Beckn order is a contract with one provider of one seller node, so a cart holding items of
several sellers becomes several orders, each with its own transaction. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_QUANTITY = 1_000_000


class CartError(ValueError):
    """A cart line that cannot be ordered (missing seller, item or quantity)."""


@dataclass(frozen=True)
class CartLine:
    bpp_id: str
    provider_id: str
    item_id: str
    quantity: int
    bpp_uri: str | None = None


@dataclass
class SellerCart:
    """The part of a cart that becomes one order."""

    bpp_id: str
    provider_id: str
    bpp_uri: str | None = None
    items: dict[str, int] = field(default_factory=dict)  # item id -> quantity, in cart order

    def item_list(self) -> list[dict[str, Any]]:
        return [{"id": i, "quantity": q} for i, q in self.items.items()]


def _text(line: Mapping[str, Any], name: str, index: int) -> str:
    value = line.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CartError(f"cart line {index}: {name} must be a non-empty string")
    return value


def parse_line(line: Any, index: int) -> CartLine:
    if not isinstance(line, Mapping):
        raise CartError(f"cart line {index}: must be an object")
    qty = line.get("quantity", 1)
    if isinstance(qty, bool) or not isinstance(qty, int) or not 0 < qty <= MAX_QUANTITY:
        raise CartError(f"cart line {index}: quantity must be an integer from 1 to {MAX_QUANTITY}")
    uri = line.get("bpp_uri")
    if uri is not None and (not isinstance(uri, str) or not uri.startswith(("http://", "https://"))):
        raise CartError(f"cart line {index}: bpp_uri must be an http(s) URL")
    return CartLine(
        bpp_id=_text(line, "bpp_id", index),
        provider_id=_text(line, "provider_id", index),
        item_id=_text(line, "item_id", index),
        quantity=qty,
        bpp_uri=uri,
    )


def split_cart(lines: Iterable[CartLine | Mapping[str, Any]]) -> list[SellerCart]:
    """Group cart lines by (seller node, provider), in the order sellers first appear; the same
    item twice adds up. Raises :class:`CartError` for an empty cart or a bad line."""
    groups: dict[tuple[str, str], SellerCart] = {}
    for index, raw in enumerate(lines):
        line = raw if isinstance(raw, CartLine) else parse_line(raw, index)
        key = (line.bpp_id, line.provider_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = SellerCart(line.bpp_id, line.provider_id, line.bpp_uri)
        elif line.bpp_uri and not group.bpp_uri:
            group.bpp_uri = line.bpp_uri
        total = group.items.get(line.item_id, 0) + line.quantity
        if total > MAX_QUANTITY:
            raise CartError(f"cart line {index}: more than {MAX_QUANTITY} of item {line.item_id!r}")
        group.items[line.item_id] = total
    if not groups:
        raise CartError("the cart is empty")
    return list(groups.values())

"""Mercato's own catalog files: CSV (one item per row) and JSON (``{"categories": [...], "items": [...]}``).

CSV columns (``id``, ``name`` and ``price`` required; the rest optional):

| column | meaning |
|---|---|
| ``id`` | item id (SKU) |
| ``name``, ``short_desc``, ``long_desc`` | descriptor |
| ``price`` | unit price in major units (``499.00``) |
| ``currency`` | ISO 4217 (default: the provider's) |
| ``category`` | category id (created with that name if new) |
| ``parent_id`` | the product this item is a variant of |
| ``options`` | ``size=M;colour=red`` |
| ``images`` | URLs separated by spaces |
| ``tax_rate_bp`` | tax in basis points (1800 = 18 %) |
| ``returnable``, ``return_window_days``, ``cancellable`` | terms |
| ``time_to_ship_hours`` | hours to hand over to delivery (default 24) |
| ``fulfillment`` | ``Delivery``, ``Self-Pickup`` or both separated by ``|`` |
| ``max_quantity`` | most units per order line (default 1000) |
| ``stock``, ``location`` | units on hand at the location (default: the node's first location) |

JSON items carry the same keys with JSON types (numbers, booleans, lists for images and fulfillment,
an object for options); ``price`` may be a string or a number in major units.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from mercato.seller.domain import Category, Descriptor, DomainError, FulfillmentType, Item, Option

from .base import CatalogImportError, Plan, PlannedItem, boolean, integer, money, open_csv

REQUIRED = ("id", "name", "price")
KNOWN = {
    "id",
    "name",
    "short_desc",
    "long_desc",
    "price",
    "currency",
    "category",
    "parent_id",
    "options",
    "images",
    "tax_rate_bp",
    "returnable",
    "return_window_days",
    "cancellable",
    "time_to_ship_hours",
    "fulfillment",
    "max_quantity",
    "stock",
    "location",
}


@dataclass(frozen=True)
class Defaults:
    """Where imported items go: the provider (its currency) and the location that holds their stock."""

    provider_id: str
    currency: str
    location_id: str | None


def _options(text: str, file: str, line: int, column: str) -> tuple[Option, ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CatalogImportError(
                file, line, column, f"options must look like size=M;colour=red, got {part!r}"
            )
        out.append(Option(name.strip(), value.strip()))
    return tuple(out)


def _fulfillment(text: str, file: str, line: int, column: str) -> frozenset[FulfillmentType]:
    try:
        return frozenset(FulfillmentType(t.strip()) for t in text.split("|") if t.strip())
    except ValueError:
        raise CatalogImportError(
            file, line, column, f"fulfillment must be Delivery and/or Self-Pickup: {text!r}"
        ) from None


def item_from(
    values: Mapping[str, str], d: Defaults, file: str, line: int, col: Any = str
) -> tuple[PlannedItem, str | None]:
    """One item from text values; ``col(name)`` gives the column name to report. Returns the planned
    item and its category id (or None)."""
    for name in REQUIRED:
        if not values.get(name, "").strip():
            raise CatalogImportError(file, line, col(name), f"{name} is required")
    currency = values.get("currency", "").strip() or d.currency

    def get(name: str) -> str:
        return values.get(name, "").strip()

    try:
        images = tuple(get("images").split()) if get("images") else ()
        kw: dict[str, Any] = {}
        if get("tax_rate_bp"):
            kw["tax_rate_bp"] = integer(get("tax_rate_bp"), file, line, col("tax_rate_bp"))
        if get("returnable"):
            kw["returnable"] = boolean(get("returnable"), file, line, col("returnable"))
        if get("return_window_days"):
            kw["return_window"] = timedelta(
                days=integer(get("return_window_days"), file, line, col("return_window_days"))
            )
        if get("cancellable"):
            kw["cancellable"] = boolean(get("cancellable"), file, line, col("cancellable"))
        if get("time_to_ship_hours"):
            kw["time_to_ship"] = timedelta(
                hours=integer(get("time_to_ship_hours"), file, line, col("time_to_ship_hours"))
            )
        if get("fulfillment"):
            kw["fulfillment_types"] = _fulfillment(get("fulfillment"), file, line, col("fulfillment"))
        if get("max_quantity"):
            kw["max_quantity"] = integer(get("max_quantity"), file, line, col("max_quantity"), minimum=1)
        item = Item(
            id=get("id"),
            provider_id=d.provider_id,
            descriptor=Descriptor(get("name"), get("short_desc"), get("long_desc"), "", images),
            price=money(get("price"), currency, file, line, col("price")),
            category_id=get("category") or None,
            parent_item_id=get("parent_id") or None,
            options=_options(get("options"), file, line, col("options")),
            **kw,
        )
    except DomainError as exc:
        raise CatalogImportError(file, line, None, exc.message) from None
    stock = integer(get("stock"), file, line, col("stock")) if get("stock") else None
    location = get("location") or d.location_id
    if stock is not None and location is None:
        raise CatalogImportError(file, line, col("location"), "stock needs a location")
    return PlannedItem(item, line, stock, location if stock is not None else None), item.category_id


def _category_plan(plan: Plan, cats: dict[str, int]) -> None:
    known = {c.id for c, _ in plan.categories}
    for cid, line in cats.items():
        if cid not in known:
            plan.categories.append((Category(cid, cid), line))


def read_csv(path: Path, d: Defaults) -> Plan:
    file = str(path)
    plan = Plan(file)
    reader, header = open_csv(path)
    for name in REQUIRED:
        if name not in header:
            raise CatalogImportError(file, 1, name, f"missing column {name!r} (columns: {', '.join(header)})")
    unknown = [h for h in header if h not in KNOWN]
    if unknown:
        raise CatalogImportError(file, 1, unknown[0], f"unknown column {unknown[0]!r}")
    cats: dict[str, int] = {}
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CatalogImportError(file, reader.line_num, None, f"not CSV: {exc}") from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise CatalogImportError(file, line, None, f"{len(row)} fields, the header has {len(header)}")
        planned, cat = item_from(dict(zip(header, row, strict=True)), d, file, line)
        plan.items.append(planned)
        if cat:
            cats.setdefault(cat, line)
    if not plan.items:
        raise CatalogImportError(file, None, None, "no items in the file")
    _category_plan(plan, cats)
    return plan


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return " ".join(map(str, v)) if all(str(x).startswith("http") for x in v) else "|".join(map(str, v))
    if isinstance(v, dict):
        return ";".join(f"{k}={x}" for k, x in v.items())
    return "" if v is None else str(v)


def _line_of(text: str, needle: str, after: int = 0) -> int:
    pos = text.find(needle, after)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else 1


def read_json(path: Path, d: Defaults) -> Plan:
    file = str(path)
    plan = Plan(file)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogImportError(file, exc.lineno, f"char {exc.colno}", f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise CatalogImportError(file, 1, "items", 'the file must be an object with an "items" list')
    for i, c in enumerate(data.get("categories") or []):
        line = _line_of(text, json.dumps(c.get("id")) if isinstance(c, dict) else "")
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not isinstance(c.get("name"), str):
            raise CatalogImportError(file, line, f"categories[{i}]", "a category needs string id and name")
        plan.categories.append((Category(c["id"], c["name"], c.get("parent_id")), line))
    cats: dict[str, int] = {}
    pos = 0
    for i, it in enumerate(data["items"]):
        if not isinstance(it, dict):
            raise CatalogImportError(file, None, f"items[{i}]", "an item must be an object")
        unknown = sorted(set(it) - KNOWN)
        item_line = _line_of(text, json.dumps(it.get("id")), pos) if "id" in it else None
        pos = text.find(json.dumps(it.get("id")), pos) + 1 if "id" in it else pos
        if unknown:
            raise CatalogImportError(
                file, item_line, f"items[{i}].{unknown[0]}", f"unknown field {unknown[0]!r}"
            )
        planned, cat = item_from(
            {k: _text(v) for k, v in it.items()},
            d,
            file,
            item_line or 0,
            lambda name, i=i: f"items[{i}].{name}",
        )
        plan.items.append(planned)
        if cat:
            cats.setdefault(cat, planned.line)
    if not plan.items:
        raise CatalogImportError(file, None, "items", "no items in the file")
    _category_plan(plan, cats)
    return plan

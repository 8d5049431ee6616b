"""Shopify's product CSV export (Products → Export → "CSV for Excel, Numbers, or other programs").

Rows sharing a ``Handle`` are one product: the first carries Title, Body (HTML), Vendor, Type and
Tags; each row with a ``Variant SKU``/``Variant Price`` (or option values) is one variant; rows with
only ``Image Src`` add pictures. Each variant becomes an item (id: the SKU, else ``handle-n``), a
variant of the product ``handle`` when there are several; ``Type`` becomes the category;
``Variant Inventory Qty`` the stock at the node's location; ``Variant Inventory Policy`` = continue
allows backorders. Products whose ``Status`` is draft or archived are skipped (and counted).
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

from mercato.seller.domain import Category, Descriptor, DomainError, Item, Option

from .base import CatalogImportError, Plan, PlannedItem, integer, money, open_csv
from .native import Defaults

REQUIRED = ("Handle", "Title", "Variant Price")
_TAG = re.compile(r"<[^>]+>")
_SLUG = re.compile(r"[^a-z0-9]+")


def is_shopify(header: list[str]) -> bool:
    return "Handle" in header and "Variant Price" in header


def _plain(body: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", body)).split())


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def read(path: Path, d: Defaults) -> Plan:
    file = str(path)
    plan = Plan(file)
    reader, header = open_csv(path)
    for name in REQUIRED:
        if name not in header:
            raise CatalogImportError(file, 1, name, f"missing column {name!r}: not a Shopify product export")
    products: dict[str, dict[str, str]] = {}  # handle -> first row
    images: dict[str, list[str]] = {}
    variants: list[tuple[int, dict[str, str]]] = []
    start = reader.line_num + 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CatalogImportError(file, reader.line_num, None, f"not CSV: {exc}") from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            raise CatalogImportError(file, line, None, f"{len(raw)} fields, the header has {len(header)}")
        row = {k: v.strip() for k, v in zip(header, raw, strict=True)}
        handle = row["Handle"]
        if not handle:
            raise CatalogImportError(file, line, "Handle", "Handle is required on every row")
        if handle not in products:
            if not row.get("Title"):
                raise CatalogImportError(file, line, "Title", f"the first row of {handle!r} needs a Title")
            products[handle] = row
        for col in ("Image Src", "Variant Image"):
            if row.get(col) and row[col] not in images.setdefault(handle, []):
                images[handle].append(row[col])
        if row.get("Variant Price") or row.get("Variant SKU") or row.get("Option1 Value"):
            variants.append((line, row))
    if not variants:
        raise CatalogImportError(file, None, None, "no product variants in the file")
    count: dict[str, int] = {}
    for _, row in variants:
        count[row["Handle"]] = count.get(row["Handle"], 0) + 1
    n_of: dict[str, int] = {}
    cats: dict[str, tuple[str, int]] = {}
    for line, row in variants:
        handle = row["Handle"]
        first = products[handle]
        status = first.get("Status", "active").lower() or "active"
        if status in ("draft", "archived"):
            plan.skipped.append((line, f"{handle}: status {status}"))
            continue
        n_of[handle] = n_of.get(handle, 0) + 1
        item_id = row.get("Variant SKU") or f"{handle}-{n_of[handle]}"
        if not row.get("Variant Price"):
            raise CatalogImportError(file, line, "Variant Price", f"variant {item_id!r} has no price")
        options = []
        for k in (1, 2, 3):
            name = first.get(f"Option{k} Name", "")
            value = row.get(f"Option{k} Value", "")
            if name and value and value != "Default Title":
                options.append(Option(name, value))
        title = first["Title"] + (" - " + " / ".join(o.value for o in options) if options else "")
        short = f"by {first['Vendor']}" if first.get("Vendor") else ""
        cat_id = slug(first["Type"]) if first.get("Type") else None
        if cat_id:
            cats.setdefault(cat_id, (first["Type"], line))
        try:
            item = Item(
                id=item_id,
                provider_id=d.provider_id,
                descriptor=Descriptor(
                    title, short, _plain(first.get("Body (HTML)", "")), handle, tuple(images.get(handle, ()))
                ),
                price=money(row["Variant Price"], d.currency, file, line, "Variant Price"),
                category_id=cat_id,
                parent_item_id=handle if count[handle] > 1 else None,
                options=tuple(options),
            )
        except DomainError as exc:
            column = "Image Src" if "image" in exc.message.lower() else None
            raise CatalogImportError(file, line, column, exc.message) from None
        qty = row.get("Variant Inventory Qty", "")
        stock = integer(qty, file, line, "Variant Inventory Qty") if qty else None
        policy = row.get("Variant Inventory Policy", "").lower()
        backorder = {"continue": True, "deny": False}.get(policy) if policy else None
        if policy and backorder is None:
            raise CatalogImportError(
                file, line, "Variant Inventory Policy", f"must be deny or continue: {policy!r}"
            )
        loc = d.location_id if stock is not None else None
        if stock is not None and loc is None:
            raise CatalogImportError(file, line, "Variant Inventory Qty", "stock needs a location")
        plan.items.append(PlannedItem(item, line, stock, loc, backorder if stock is not None else None))
    for cid, (name, line) in cats.items():
        plan.categories.append((Category(cid, name), line))
    return plan

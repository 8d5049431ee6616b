"""Catalog and stock editor, and catalog import (Mercato CSV/JSON, Shopify product CSV) by upload.

Edits go through the same store functions as the admin API and then tell the node that the catalog
changed (it republishes to the gateways). An import is all or nothing; its error names the file, the
line and the column, and the page shows exactly that next to the upload field.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.seller.domain import Descriptor, DomainError, Item, Money
from mercato.seller.domain.stock import StockLevel
from mercato.seller.importers import FORMATS, CatalogImportError, Summary, import_file
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import stock as store_stock

from . import data, forms
from .core import Console, fields, safe_filename, upload_name, upload_of

STOCK_REASONS = {
    "received": "Received goods",
    "count": "Stock count correction",
    "damage": "Damaged / lost",
    "return": "Customer return put back",
}
MAX_UPLOAD = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".json", ".txt")


def now() -> datetime:
    return datetime.now(UTC)


def item_of(console: Console, item_id: str) -> Item | None:
    return store_catalog.load_all(console.host.store, active_only=False).items.get(item_id)


def stock_of(console: Console, item_id: str) -> list[dict[str, Any]]:
    levels = store_stock.levels(console.host.store, [item_id])
    locations = store_catalog.load_all(console.host.store).locations
    rows = {loc: lv for (_, loc), lv in levels.items()}
    for loc in locations:
        rows.setdefault(loc, StockLevel())
    return [
        {
            "location_id": loc,
            "on_hand": lv.on_hand,
            "reserved": lv.reserved,
            "available": lv.on_hand - lv.reserved,
            "backorder": lv.backorder,
        }  # fmt: skip
        for loc, lv in sorted(rows.items())
    ]


def save_item(console: Console, item: Item, name: str, price: int, max_quantity: int, active: bool) -> None:
    store = console.host.store
    d = item.descriptor
    new = dataclasses.replace(
        item,
        descriptor=Descriptor(name, d.short_desc, d.long_desc, d.code, d.images),
        price=Money(price, item.price.currency),
        max_quantity=max_quantity,
    )
    store_catalog.put_item(store, new, now())
    if not active:
        store_catalog.deactivate_item(store, item.id, now())
    console.host.catalog_changed()


def adjust(console: Console, item_id: str, location_id: str, delta: int, reason: str, note: str) -> None:
    store = console.host.store
    text = reason + (f": {note}" if note else "")
    if delta > 0 and reason == "received":
        store_stock.receive(store, item_id, location_id, delta, now(), text, None)
    else:
        store_stock.adjust(store, item_id, location_id, delta, now(), text, None)


ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_item(console: Console, values: dict[str, str]) -> forms.Errors:
    """Create an item (and its opening stock at the node's first location) from the catalog form."""
    st = console.host.config.store
    errors: forms.Errors = {}
    item_id = forms.text(values, "item_id", errors, max_len=64)
    if item_id and "item_id" not in errors and not ITEM_ID.match(item_id):
        errors["item_id"] = "letters, digits, '.', '_' and '-' only (at most 64)"
    name = forms.text(values, "name", errors, max_len=200)
    price = forms.money(values, "price", st.currency, errors)
    opening = 0
    if (values.get("stock") or "").strip():
        opening = forms.integer(values, "stock", errors, minimum=0, maximum=10**9) or 0
    if errors or price is None:
        return errors
    store = console.host.store
    if item_id in store_catalog.load_all(store, active_only=False).items:
        return {"item_id": f"{item_id} exists already: edit it instead"}
    try:
        store_catalog.put_item(
            store, Item(item_id, st.provider_id, Descriptor(name), Money(price, st.currency)), now()
        )
        if opening:
            store_stock.receive(
                store, item_id, st.location_id, opening, now(), "received: opening stock", None
            )
    except DomainError as exc:
        return {"item_id": exc.message}
    console.host.catalog_changed()
    return {}


def add_catalog_routes(r: APIRouter, console: Console) -> None:
    def catalog_page(
        request: Request, ctx: Any, rows: list[dict[str, Any]], extra: dict[str, Any], status: int = 200
    ) -> Response:
        context = {"title": "Catalog", "items": rows, "values": {}, "errors": {}, **extra}
        return console.page(request, ctx, "catalog.html", context, current="catalog", status=status)

    @r.get("/catalog")
    async def catalog(request: Request) -> Response:
        ctx = console.session_of(request)
        rows = await run_in_threadpool(data.catalog_rows, console.host.store)
        return catalog_page(request, ctx, rows, {})

    @r.post("/catalog/new")
    async def catalog_new(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors = await run_in_threadpool(new_item, console, values)
        if errors:
            rows = await run_in_threadpool(data.catalog_rows, console.host.store)
            extra = {"values": values, "errors": errors, "form_errors": errors}
            return catalog_page(request, ctx, rows, extra, 400)
        item_id = values["item_id"].strip()
        return console.redirect(
            ctx, f"/console/catalog/{item_id}", [("ok", f"Added {item_id}; it is on sale.")]
        )

    async def item_page(
        request: Request, ctx: Any, item_id: str, extra: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        item = await run_in_threadpool(item_of, console, item_id)
        if item is None:
            return console.page(
                request, ctx, "not_found.html", {"title": "No such item", "what": f"item {item_id}"},
                current="catalog", status=404,
            )  # fmt: skip
        active = item_id in (await run_in_threadpool(store_catalog.load_all, console.host.store)).items
        values = {
            "name": item.descriptor.name,
            "price": forms.major(item.price.amount, item.price.currency),
            "max_quantity": str(item.max_quantity),
            "active": "on" if active else "",
        }
        ctx_ = {
            "title": item.descriptor.name,
            "item": item,
            "active": active,
            "values": values,
            "errors": {},
            "stock": await run_in_threadpool(stock_of, console, item_id),
            "reasons": list(STOCK_REASONS.items()),
            "stock_values": {},
            "stock_errors": {},
            **(extra or {}),
        }
        return console.page(request, ctx, "item.html", ctx_, current="catalog", status=status)

    @r.get("/catalog/{item_id}")
    async def item_get(request: Request, item_id: str) -> Response:
        ctx = console.session_of(request)
        return await item_page(request, ctx, item_id)

    @r.post("/catalog/{item_id}")
    async def item_post(request: Request, item_id: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        item = await run_in_threadpool(item_of, console, item_id)
        if item is None:
            return await item_page(request, ctx, item_id)
        errors: forms.Errors = {}
        name = forms.text(values, "name", errors, max_len=200)
        price = forms.money(values, "price", item.price.currency, errors)
        maxq = forms.integer(values, "max_quantity", errors, minimum=1, maximum=1_000_000)
        if errors or price is None or maxq is None:
            extra = {"values": values, "errors": errors, "form_errors": errors}
            return await item_page(request, ctx, item_id, extra, 400)
        try:
            await run_in_threadpool(save_item, console, item, name, price, maxq, values.get("active") == "on")
        except DomainError as exc:
            extra = {
                "values": values,
                "errors": {"price": exc.message},
                "form_errors": {"price": exc.message},
            }
            return await item_page(request, ctx, item_id, extra, 400)
        return console.redirect(ctx, f"/console/catalog/{item_id}", [("ok", f"Saved {name}.")])

    @r.post("/catalog/{item_id}/stock")
    async def stock_post(request: Request, item_id: str) -> Response:
        ctx = console.session_of(request)
        form = await request.form()
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        location = forms.text(values, "location_id", errors, max_len=100)
        delta = forms.integer(values, "delta", errors, minimum=-(10**9), maximum=10**9, nonzero=True)
        reason = forms.choice(values, "reason", STOCK_REASONS, errors)
        note = forms.text(values, "note", errors, required=False, max_len=200)
        if not errors and delta is not None:
            try:
                await run_in_threadpool(adjust, console, item_id, location, delta, reason, note)
            except DomainError as exc:
                errors["delta"] = exc.message
        if errors:
            extra = {"stock_values": values, "stock_errors": errors, "form_errors": errors}
            return await item_page(request, ctx, item_id, extra, 400)
        sign = "+" if delta and delta > 0 else ""
        text = f"Stock of {item_id} at {location}: {sign}{delta} ({STOCK_REASONS[reason].lower()})."
        return console.redirect(ctx, f"/console/catalog/{item_id}", [("ok", text)])

    # -- import ----------------------------------------------------------------------------------
    def import_page(request: Request, ctx: Any, extra: dict[str, Any], status: int = 200) -> Response:
        st = console.host.config.store
        context = {
            "title": "Import catalog",
            "formats": [(f, f) for f in FORMATS],
            "values": {"format": "auto"},
            "errors": {},
            "provider_id": st.provider_id,
            "location_id": st.location_id,
            **extra,
        }
        return console.page(request, ctx, "import.html", context, current="import", status=status)

    @r.get("/import")
    async def import_form(request: Request) -> Response:
        ctx = console.session_of(request)
        return import_page(request, ctx, {})

    @r.post("/import")
    async def import_post(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form(max_files=1, max_fields=20)
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        fmt = forms.choice(values, "format", list(FORMATS), errors)
        upload = upload_of(form, "file")
        name = upload_name(upload)
        if upload is None or not name:
            errors["file"] = "choose a file to upload"
        elif Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            errors["file"] = f"{name}: use a .csv or .json file"
        content = b""
        if upload is not None and "file" not in errors:
            content = await upload.read(MAX_UPLOAD + 1)
            if len(content) > MAX_UPLOAD:
                errors["file"] = f"{name}: larger than {MAX_UPLOAD // (1024 * 1024)} MB"
            elif not content:
                errors["file"] = f"{name}: the file is empty"
        if errors:
            return import_page(request, ctx, {"values": values, "errors": errors, "form_errors": errors}, 400)
        st = console.host.config.store
        try:
            summary = await run_in_threadpool(
                run_import, console, name, content, fmt, st.provider_id, st.location_id
            )
        except CatalogImportError as exc:
            problem = {
                "file": name,
                "line": exc.line,
                "column": exc.column,
                "message": exc.message,
            }
            errors = {"file": f"{name}" + (f", line {exc.line}" if exc.line else "")
                      + (f", column {exc.column}" if exc.column else "") + f": {exc.message}"}  # fmt: skip
            extra = {"values": values, "errors": errors, "form_errors": errors, "problem": problem}
            return import_page(request, ctx, extra, 422)
        console.host.catalog_changed()
        text = (
            f"Imported {name}: {summary.items} items, {summary.categories} categories, "
            f"{summary.stock_rows} stock levels set"
            + (f", {summary.skipped} rows skipped" if summary.skipped else "")
        )
        return console.redirect(ctx, "/console/catalog", [("ok", text + ".")])


def run_import(
    console: Console, name: str, content: bytes, fmt: str, provider_id: str, location_id: str
) -> Summary:
    """Write the upload to a private temporary folder under its own name (errors then name it) and
    import it in one transaction."""
    with tempfile.TemporaryDirectory(prefix="mercato-import-") as d:
        path = Path(d) / safe_filename(name, "catalog.csv")
        path.write_bytes(content)
        try:
            return import_file(
                console.host.store, path, provider_id=provider_id, location_id=location_id, fmt=fmt
            )
        except CatalogImportError as exc:
            raise CatalogImportError(name, exc.line, exc.column, exc.message) from None

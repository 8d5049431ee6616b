"""What every importer produces (a plan), the error it raises, and the one transaction that applies it.

An import is all or nothing: the file is read and checked completely first (every value, every
reference, against the domain's rules), then written in one transaction; any error leaves the store
exactly as it was. An error names the file, the line and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from sqlalchemy import select

from mercato.seller.domain import Catalog, Category, DomainError, Item, Money
from mercato.seller.domain.money import exponent
from mercato.seller.store import Store
from mercato.seller.store.catalog import load_all
from mercato.seller.store.codec import item_values
from mercato.seller.store.stock import lock_keys, write_back
from mercato.seller.store.tables import CategoryRow, ItemRow


class CatalogImportError(ValueError):
    """A file that cannot be imported; ``str()`` is ``file:line: column C: message``."""

    def __init__(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.file, self.line, self.column, self.message = file, line, column, message
        where = file + (f":{line}" if line else "")
        col = f" column {column!r}:" if column else ""
        super().__init__(f"{where}:{col} {message}")


@dataclass
class PlannedItem:
    item: Item
    line: int
    stock: int | None = None  # units on hand at the location after the import (None: leave stock alone)
    location_id: str | None = None
    backorder: bool | None = None


@dataclass
class Plan:
    file: str
    categories: list[tuple[Category, int]] = field(default_factory=list)
    items: list[PlannedItem] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


@dataclass(frozen=True)
class Summary:
    categories: int
    items: int
    stock_rows: int
    skipped: int


def money(text: str, currency: str, file: str, line: int, column: str) -> Money:
    """A decimal amount in major units (``499``, ``499.5``, ``1,299.00``) to integer minor units."""
    t = text.strip().replace(",", "")
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise CatalogImportError(file, line, column, f"not an amount: {text!r}") from None
    scaled = d * (10 ** exponent(currency))
    if scaled != scaled.to_integral_value() or d < 0:
        raise CatalogImportError(file, line, column, f"not a non-negative amount in {currency}: {text!r}")
    return Money(int(scaled), currency)


def integer(text: str, file: str, line: int, column: str, *, minimum: int = 0) -> int:
    t = text.strip()
    try:
        v = int(t)
    except ValueError:
        try:
            dec = Decimal(t)
        except InvalidOperation:
            raise CatalogImportError(file, line, column, f"not a whole number: {text!r}") from None
        if dec != dec.to_integral_value():
            raise CatalogImportError(file, line, column, f"not a whole number: {text!r}") from None
        v = int(dec)
    if v < minimum:
        raise CatalogImportError(file, line, column, f"must be at least {minimum}, got {v}")
    return v


def boolean(text: str, file: str, line: int, column: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "1", "y"):
        return True
    if t in ("false", "no", "0", "n", ""):
        return False
    raise CatalogImportError(file, line, column, f"not true/false: {text!r}")


def days(text: str, file: str, line: int, column: str) -> timedelta:
    return timedelta(days=integer(text, file, line, column))


def check(plan: Plan, store: Store) -> None:
    """Check the whole plan against the store's catalog with the domain's rules (nothing written)."""
    cat = load_all(store, active_only=False)
    trial = Catalog(dict(cat.providers), dict(cat.locations), dict(cat.categories), dict(cat.items))
    for c, line in plan.categories:
        try:
            trial.categories.pop(c.id, None)
            trial.add_category(c)
        except DomainError as exc:
            raise CatalogImportError(plan.file, line, None, f"category {c.id!r}: {exc.message}") from None
    seen: dict[str, int] = {}
    for p in plan.items:
        if p.item.id in seen:
            raise CatalogImportError(
                plan.file, p.line, None, f"item id {p.item.id!r} already used on line {seen[p.item.id]}"
            )
        seen[p.item.id] = p.line
        try:
            trial.add_item(p.item)
            if p.location_id is not None:
                loc = trial.location(p.location_id)
                if loc.provider_id != p.item.provider_id:
                    raise CatalogImportError(
                        plan.file, p.line, None, f"location {loc.id!r} is another provider's"
                    )
        except DomainError as exc:
            raise CatalogImportError(plan.file, p.line, None, exc.message) from None
        existing = cat.items.get(p.item.id)
        if existing is not None and existing.provider_id != p.item.provider_id:
            raise CatalogImportError(
                plan.file, p.line, None, f"item {p.item.id!r} belongs to another provider"
            )


def apply(plan: Plan, store: Store, now: datetime) -> Summary:
    """Check the plan, then write it in ONE transaction (categories, items, stock levels with ledger
    entries 'import'). Raises :class:`CatalogImportError`; nothing is stored then."""
    check(plan, store)
    stock_lines = [p for p in plan.items if p.stock is not None and p.location_id is not None]
    try:
        with store.write() as s:
            cats = {r.id: r for r in s.scalars(select(CategoryRow))}
            for c, _ in plan.categories:
                crow = cats.get(c.id) or CategoryRow(id=c.id)
                crow.name, crow.parent_id = c.name, c.parent_id
                s.add(crow)
            s.flush()
            rows = {
                r.id: r
                for r in s.scalars(select(ItemRow).where(ItemRow.id.in_([p.item.id for p in plan.items])))
            }
            for p in plan.items:
                row = rows.get(p.item.id) or ItemRow(id=p.item.id)
                for k, v in item_values(p.item).items():
                    setattr(row, k, v)
                row.active, row.updated_at = True, now
                s.add(row)
            s.flush()
            book = lock_keys(s, [(p.item.id, p.location_id) for p in stock_lines if p.location_id])
            entries = []
            for p in stock_lines:
                assert p.location_id is not None and p.stock is not None
                try:
                    lvl = book.level(p.item.id, p.location_id)
                    delta = p.stock - lvl.on_hand
                    if delta > 0:
                        entries.append(book.receive(p.item.id, p.location_id, delta, now, "import"))
                    elif delta < 0:
                        entries.append(book.adjust(p.item.id, p.location_id, delta, now, "import count"))
                    if (
                        p.backorder is not None
                        and p.backorder != book.level(p.item.id, p.location_id).backorder
                    ):
                        entries.append(
                            book.set_backorder(p.item.id, p.location_id, p.backorder, now, "import")
                        )
                except DomainError as exc:
                    raise CatalogImportError(
                        plan.file, p.line, None, f"stock of {p.item.id!r}: {exc.message}"
                    ) from None
            write_back(s, book, entries)
    except DomainError as exc:  # pragma: no cover - check() catches these first
        raise CatalogImportError(plan.file, None, None, exc.message) from None
    return Summary(len(plan.categories), len(plan.items), len(stock_lines), len(plan.skipped))


class CsvRows(Protocol):
    """What ``csv.reader`` gives: rows, and the physical line number of the last one read."""

    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def open_csv(path: Path) -> tuple[CsvRows, list[str]]:
    """A CSV file's row reader (``line_num`` counts physical lines) and its stripped header row.

    Raises :class:`CatalogImportError` naming the file for text that is not UTF-8, an empty file or a
    header that is not CSV.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogImportError(file, None, None, f"not UTF-8 text: {exc}") from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CatalogImportError(file, 1, None, "the file is empty") from None
    except csv.Error as exc:
        raise CatalogImportError(file, 1, None, f"not CSV: {exc}") from None
    return reader, header

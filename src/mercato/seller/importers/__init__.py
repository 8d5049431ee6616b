"""Catalog import: Mercato's own CSV/JSON and Shopify's product CSV export, all or nothing.

```python
from mercato.seller.importers import import_file
summary = import_file(store, "products.csv", provider_id="shop", location_id="shop-main")
```
Errors are :class:`CatalogImportError` naming the file, line and column; nothing is stored then.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from mercato.seller.store import Store
from mercato.seller.store.tables import ProviderRow

from . import native, shopify
from .base import CatalogImportError, Plan, Summary, apply

FORMATS = ("auto", "csv", "json", "shopify")


def detect(path: Path) -> str:
    if path.suffix.lower() == ".json":
        return "json"
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return "csv"
    return "shopify" if shopify.is_shopify([h.strip() for h in header]) else "csv"


def read(path: str | Path, defaults: native.Defaults, fmt: str = "auto") -> Plan:
    p = Path(path)
    if fmt not in FORMATS:
        raise CatalogImportError(
            str(p), None, None, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"
        )
    if not p.is_file():
        raise CatalogImportError(str(p), None, None, "no such file")
    kind = detect(p) if fmt == "auto" else fmt
    if kind == "json":
        return native.read_json(p, defaults)
    if kind == "shopify":
        return shopify.read(p, defaults)
    return native.read_csv(p, defaults)


def import_file(
    store: Store,
    path: str | Path,
    *,
    provider_id: str,
    location_id: str | None,
    fmt: str = "auto",
    now: datetime | None = None,
) -> Summary:
    """Read, check and store a catalog file in one transaction."""
    with store.read() as s:
        prov = s.get(ProviderRow, provider_id)
        if prov is None:
            raise CatalogImportError(
                str(path), None, None, f"provider {provider_id!r} does not exist on this node"
            )
        currency = prov.currency
    plan = read(path, native.Defaults(provider_id, currency, location_id), fmt)
    return apply(plan, store, now or datetime.now(UTC))


__all__ = ["FORMATS", "CatalogImportError", "Summary", "detect", "import_file", "read"]

"""A small twin document for the supply tests (a factory line with a BOM, a warehouse, receipts)."""

from __future__ import annotations

from typing import Any


def twin_doc() -> dict[str, Any]:
    return {
        "calendars": [
            {"id": "default", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "holidays": ["2026-12-25"]}
        ],  # fmt: skip
        "locations": [
            {"id": "fac", "kind": "factory", "city": "std:080"},
            {"id": "wh", "kind": "warehouse", "city": "std:011"},
        ],
        "lanes": [{"from": "fac", "to": "wh", "days": 2}, {"from": "wh", "city": "std:022", "days": 1}],
        "items": [{"id": "chair"}, {"id": "wood"}, {"id": "leg"}],
        "stock": [
            {"item": "chair", "location": "wh", "quantity": 3},
            {"item": "wood", "location": "fac", "quantity": 40},
        ],
        "receipts": [{"item": "chair", "location": "wh", "quantity": 5, "date": "2026-12-03"}],
        "lines": [
            {
                "id": "L1",
                "location": "fac",
                "capacity_per_day": 100,
                "rates": [{"item": "chair", "per_unit": 10, "setup": 30}, {"item": "leg", "per_unit": 5}],
            },
        ],  # fmt: skip
        "bom": [
            {"item": "chair", "component": "wood", "quantity": 2},
            {"item": "chair", "component": "leg", "quantity": 4},
        ],
    }

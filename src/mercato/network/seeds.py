"""Seed catalogs for a local network: four distinct, realistic shops and their variants.

Plain data (prices in integer paise, INR), turned into each seller's own catalog-import file by
:func:`catalog_document`. Seller 5, 6, ... reuse the four templates under other names and
neighbourhoods, so ``mercato up --sellers 12`` still gives every seller its own catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CITY = "std:080"  # Bengaluru
COUNTRY = "IND"
DOMAIN = "retail:1.1.0"
CURRENCY = "INR"


@dataclass(frozen=True)
class SeedItem:
    sku: str
    name: str
    category: str
    price: int  # paise
    stock: int
    description: str = ""
    time_to_ship: str = "PT4H"
    returnable: bool = True
    cancellable: bool = True
    tax_bp: int = 500  # basis points (5% GST)
    price_breaks: tuple[tuple[int, int], ...] = ()  # (min quantity, unit price in paise)


@dataclass(frozen=True)
class SeedShop:
    kind: str
    name: str
    description: str
    street: str
    area: str
    gps: str
    items: tuple[SeedItem, ...]
    categories: tuple[str, ...] = field(default=())


GROCERY = SeedShop(
    kind="grocery",
    name="Namma Fresh Grocers",
    description="Staples, fresh produce and dairy from local farms, delivered the same day.",
    street="12, 4th Cross, Jayanagar 4th Block",
    area="Jayanagar",
    gps="12.925007,77.593803",
    items=(
        SeedItem("atta-5kg", "Whole Wheat Atta 5 kg", "Staples", 28_500, 120, "Stone-ground sharbati wheat."),
        SeedItem("rice-sona-5kg", "Sona Masoori Rice 5 kg", "Staples", 39_900, 90, "Aged raw rice, Raichur."),
        SeedItem("toor-dal-1kg", "Toor Dal 1 kg", "Staples", 16_800, 150, "Unpolished pigeon peas."),
        SeedItem("groundnut-oil-1l", "Cold-pressed Groundnut Oil 1 L", "Oils", 31_000, 60, "Wood-pressed."),
        SeedItem(
            "milk-toned-1l", "Toned Milk 1 L", "Dairy", 5_400, 200, "Pasteurised.", "PT2H", False, True, 0
        ),
        SeedItem("curd-500g", "Fresh Curd 500 g", "Dairy", 4_500, 80, "Set curd.", "PT2H", False, True, 0),
        SeedItem("tomato-1kg", "Tomatoes 1 kg", "Vegetables", 3_800, 70, "Farm fresh, Kolar.", "PT2H", False),
        SeedItem("onion-1kg", "Onions 1 kg", "Vegetables", 4_200, 110, "Nashik red onions.", "PT2H", False),
        SeedItem("banana-robusta-1dz", "Robusta Bananas (dozen)", "Fruit", 6_000, 40, "", "PT2H", False),
        SeedItem(
            "filter-coffee-500g", "Filter Coffee Powder 500 g", "Beverages", 27_500, 55, "80:20 chicory."
        ),
        SeedItem("jaggery-1kg", "Organic Jaggery 1 kg", "Staples", 12_000, 35, "Mandya jaggery."),
        SeedItem("ragi-flour-1kg", "Ragi Flour 1 kg", "Staples", 7_900, 45, "Finger millet flour."),
    ),
)

ELECTRONICS = SeedShop(
    kind="electronics",
    name="Circuit Street Electronics",
    description="Phones, audio and accessories with GST invoice and brand warranty.",
    street="88, SP Road",
    area="Chickpet",
    gps="12.967470,77.579010",
    items=(
        SeedItem(
            "usb-c-cable-1m",
            "USB-C to USB-C Cable 1 m, 60 W",
            "Accessories",
            49_900,
            300,
            "",
            "PT24H",
            tax_bp=1800,
        ),
        SeedItem(
            "charger-33w", "33 W GaN Fast Charger", "Accessories", 1_49_900, 80, "", "PT24H", tax_bp=1800
        ),
        SeedItem(
            "earbuds-anc",
            "Wireless Earbuds with ANC",
            "Audio",
            3_99_900,
            40,
            "30 h battery, IPX4.",
            "PT24H",
            tax_bp=1800,
        ),
        SeedItem("speaker-bt-20w", "Bluetooth Speaker 20 W", "Audio", 2_79_900, 25, "", "PT24H", tax_bp=1800),
        SeedItem(
            "powerbank-20k", "Power Bank 20,000 mAh", "Accessories", 1_99_900, 60, "", "PT24H", tax_bp=1800
        ),
        SeedItem(
            "smartwatch-amoled", "AMOLED Smartwatch", "Wearables", 4_49_900, 30, "", "PT48H", tax_bp=1800
        ),
        SeedItem(
            "phone-5g-128",
            "5G Smartphone 8/128 GB",
            "Phones",
            17_99_900,
            15,
            "6.7-inch, 5000 mAh.",
            "PT48H",
            True,
            False,
            1800,
        ),
        SeedItem(
            "keyboard-mech",
            "Mechanical Keyboard, Brown Switches",
            "Computing",
            3_49_900,
            20,
            "",
            "PT48H",
            tax_bp=1800,
        ),
        SeedItem(
            "mouse-wireless",
            "Wireless Mouse, Silent Clicks",
            "Computing",
            89_900,
            75,
            "",
            "PT24H",
            tax_bp=1800,
        ),
        SeedItem("sd-card-128", "microSD Card 128 GB, A2", "Storage", 99_900, 90, "", "PT24H", tax_bp=1800),
    ),
)

FASHION = SeedShop(
    kind="fashion",
    name="Kora Handloom Studio",
    description="Handwoven cotton and silk from weavers' cooperatives in Karnataka.",
    street="3, 12th Main, Indiranagar HAL 2nd Stage",
    area="Indiranagar",
    gps="12.971891,77.641151",
    items=(
        SeedItem(
            "ilkal-saree-cotton", "Ilkal Cotton Saree", "Sarees", 2_45_000, 18, "Tope teni pallu.", "PT48H"
        ),
        SeedItem(
            "mysore-silk-saree",
            "Mysore Crepe Silk Saree",
            "Sarees",
            12_90_000,
            6,
            "Pure silk, zari border.",
            "PT72H",
            True,
            False,
        ),
        SeedItem("kurta-khadi-m", "Khadi Kurta, Men, M", "Kurtas", 1_29_900, 25, "Hand-spun khadi.", "PT48H"),
        SeedItem("kurta-khadi-l", "Khadi Kurta, Men, L", "Kurtas", 1_29_900, 22, "Hand-spun khadi.", "PT48H"),
        SeedItem("dupatta-block", "Block-printed Cotton Dupatta", "Accessories", 69_900, 40, "", "PT48H"),
        SeedItem("tote-canvas", "Canvas Tote Bag", "Bags", 49_900, 60, "Natural dye.", "PT24H"),
        SeedItem("stole-silk", "Silk Stole", "Accessories", 1_89_900, 15, "", "PT48H"),
        SeedItem("shirt-linen-m", "Linen Shirt, M", "Shirts", 2_19_900, 20, "", "PT48H"),
    ),
)

MANUFACTURER = SeedShop(
    kind="manufacturer",
    name="Peenya Steelworks",
    description="Kitchen and home steelware made to order in our Peenya factory; volume prices for groups.",
    street="Plot 41, 2nd Phase, Peenya Industrial Area",
    area="Peenya",
    gps="13.028540,77.518120",
    items=(
        SeedItem(
            "tiffin-3tier",
            "Stainless Steel Tiffin, 3 Tier",
            "Kitchen",
            89_900,
            500,
            "Food-grade 304.",
            "P3D",
            tax_bp=1200,
            price_breaks=((10, 79_900), (50, 69_900), (200, 59_900)),
        ),
        SeedItem(
            "bottle-1l",
            "Insulated Steel Bottle 1 L",
            "Kitchen",
            74_900,
            800,
            "24 h cold, 12 h hot.",
            "P3D",
            tax_bp=1200,
            price_breaks=((10, 66_900), (100, 57_900)),
        ),
        SeedItem(
            "kadai-28cm",
            "Tri-ply Kadai 28 cm",
            "Cookware",
            2_49_900,
            200,
            "Induction ready.",
            "P5D",
            tax_bp=1200,
            price_breaks=((20, 2_19_900), (100, 1_89_900)),
        ),
        SeedItem(
            "plate-set-6",
            "Steel Dinner Plates, Set of 6",
            "Kitchen",
            1_19_900,
            300,
            "",
            "P3D",
            tax_bp=1200,
            price_breaks=((10, 1_04_900),),
        ),
        SeedItem(
            "rack-wall", "Wall-mounted Utensil Rack", "Home", 1_79_900, 120, "", "P7D", True, False, 1800
        ),
    ),
)

TEMPLATES: tuple[SeedShop, ...] = (GROCERY, ELECTRONICS, FASHION, MANUFACTURER)

_AREAS = (
    ("Koramangala", "12.935242,77.624480"),
    ("Malleswaram", "13.003065,77.570580"),
    ("Whitefield", "12.969750,77.749975"),
    ("Basavanagudi", "12.941780,77.575450"),
    ("HSR Layout", "12.911623,77.638862"),
    ("Yelahanka", "13.100698,77.596345"),
)


def shop_for(index: int) -> SeedShop:
    """The seed shop of seller ``index`` (0-based): the four templates first, then variants."""
    base = TEMPLATES[index % len(TEMPLATES)]
    round_ = index // len(TEMPLATES)
    if round_ == 0:
        return base
    area, gps = _AREAS[(index - len(TEMPLATES)) % len(_AREAS)]
    factor = 100 + 3 * round_  # a few percent dearer or cheaper per round, so prices differ
    items = tuple(
        SeedItem(
            it.sku,
            it.name,
            it.category,
            it.price * factor // 100,
            max(1, it.stock * (100 - 7 * round_) // 100),
            it.description,
            it.time_to_ship,
            it.returnable,
            it.cancellable,
            it.tax_bp,
            tuple((q, p * factor // 100) for q, p in it.price_breaks),
        )
        for it in base.items
    )
    return SeedShop(
        base.kind,
        f"{base.name} {area}",
        base.description,
        f"{base.street.split(',')[0]}, {area}",
        area,
        gps,
        items,
    )


def slug(shop: SeedShop) -> str:
    return "".join(c if c.isalnum() else "-" for c in shop.name.lower()).strip("-").replace("--", "-")


def catalog_document(shop: SeedShop) -> dict[str, Any]:
    """The shop as a neutral JSON document: provider, one location, categories and items."""
    categories = sorted({it.category for it in shop.items})
    return {
        "provider": {"id": slug(shop), "name": shop.name, "description": shop.description},
        "location": {
            "id": f"{slug(shop)}-store",
            "street": shop.street,
            "area": shop.area,
            "city": CITY,
            "country": COUNTRY,
            "gps": shop.gps,
        },
        "categories": categories,
        "items": [
            {
                "sku": it.sku,
                "name": it.name,
                "description": it.description,
                "category": it.category,
                "price": it.price,
                "currency": CURRENCY,
                "stock": it.stock,
                "tax_bp": it.tax_bp,
                "time_to_ship": it.time_to_ship,
                "returnable": it.returnable,
                "cancellable": it.cancellable,
                "price_breaks": [{"min_quantity": q, "price": p} for q, p in it.price_breaks],
            }
            for it in shop.items
        ],
    }


# --- demand pools: what the manufacturer offers as group runs ---------------------------------------


@dataclass(frozen=True)
class SeedPoolOffer:
    sku: str
    name: str
    tiers: tuple[tuple[int, int], ...]  # (minimum run quantity, unit price in paise), all-units
    moq: int
    capacity: int
    production_days: int  # after the commitment deadline
    delivery_days: tuple[int, int]  # delivery window, days after the deadline
    description: str = ""


POOL_CAPACITY = 450  # the factory's units across its pool offers in one pool
POOL_OFFERS: tuple[SeedPoolOffer, ...] = (
    SeedPoolOffer(
        "copper-bottle-pool",
        "Copper Water Bottle 1 L (group run)",
        ((1, 99_900), (50, 79_900), (150, 64_900)),
        40,
        300,
        2,
        (9, 12),
        "Hand-hammered copper; made once enough buyers join.",
    ),
    SeedPoolOffer(
        "castiron-tawa-pool",
        "Cast-iron Dosa Tawa 30 cm (group run)",
        ((1, 1_49_900), (100, 1_19_900)),
        50,
        200,
        3,
        (10, 14),
        "Pre-seasoned; poured in batches.",
    ),
)


# The seeded pool across manufacturers (opened by `mercato up` when it runs two manufacturers, cleared
# by its pool coordinator): both make a 5 L pressure cooker, so buyers may list either as a substitute.
CROSS_POOL_ID = "pressure-cooker-run"
CROSS_POOL_DAYS = 7  # its deadline: noon UTC, this many days after the network's first start
CROSS_POOL_CAPACITY = (300, 250)  # the first and the second manufacturer's units across the pool
CROSS_POOL_OFFERS: tuple[SeedPoolOffer, SeedPoolOffer] = (
    SeedPoolOffer(
        "pressure-cooker-5l-pool",
        "Steel Pressure Cooker 5 L (group run)",
        ((1, 2_99_900), (40, 2_49_900), (120, 2_19_900)),
        30,
        250,
        3,
        (10, 14),
        "Tri-ply base, 304 steel body; pressed once enough buyers join.",
    ),
    SeedPoolOffer(
        "pressure-cooker-5l-pool",
        "Pressure Cooker 5 L, Outer Lid (group run)",
        ((1, 2_89_900), (60, 2_39_900)),
        50,
        200,
        4,
        (11, 15),
        "Induction base; the same cooker from our second line, made in larger batches.",
    ),
)


def cross_pool_deadline(now: datetime) -> datetime:
    """The seeded cross-manufacturer pool's deadline: the same for every node opened on one day."""
    day = now.astimezone(UTC).date() + timedelta(days=CROSS_POOL_DAYS)
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


# --- supply twins: what stands behind each shop's promise dates -------------------------------------

# Minutes of a factory line per unit and per run, by item (the manufacturer's line makes these).
_MAKE: dict[str, tuple[int, int]] = {
    "tiffin-3tier": (6, 45),
    "bottle-1l": (4, 30),
    "kadai-28cm": (12, 60),
    "plate-set-6": (5, 30),
    "rack-wall": (20, 90),
}
# Steel sheet (kg) a unit of each made item consumes.
_STEEL_KG: dict[str, int] = {
    "tiffin-3tier": 2,
    "bottle-1l": 1,
    "kadai-28cm": 3,
    "plate-set-6": 2,
    "rack-wall": 4,
}
HOLIDAYS = ("2026-01-26", "2026-08-15", "2026-10-02", "2026-12-25", "2027-01-26")


def twin_document(shop: SeedShop) -> dict[str, Any]:
    """The shop's supply twin (docs/supply.md): its one location with stock taken from the node, a lane
    to the city, and for the manufacturer a press line (8 working hours a day, Monday to Saturday)
    making every item from steel sheet."""
    loc = catalog_document(shop)["location"]["id"]
    items: list[dict[str, Any]] = [{"id": it.sku, "name": it.name} for it in shop.items]
    doc: dict[str, Any] = {
        "calendars": [
            {
                "id": "default",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
                "holidays": list(HOLIDAYS),
            }
        ],
        "locations": [
            {"id": loc, "kind": "factory" if shop.kind == "manufacturer" else "store", "city": CITY}
        ],
        "lanes": [{"from": loc, "city": CITY, "days": 2 if shop.kind == "manufacturer" else 1}],
        "items": items,
    }
    if shop.kind == "manufacturer":
        made = [it.sku for it in shop.items if it.sku in _MAKE]
        items.append({"id": "steel-sheet", "name": "Steel sheet (kg)", "lead_time_days": 7})
        doc["stock"] = [{"item": "steel-sheet", "location": loc, "quantity": 4_000}]
        doc["lines"] = [
            {
                "id": "press-1",
                "location": loc,
                "capacity_per_day": 480,
                "rates": [{"item": s, "per_unit": _MAKE[s][0], "setup": _MAKE[s][1]} for s in made],
            }
        ]
        doc["bom"] = [{"item": s, "component": "steel-sheet", "quantity": _STEEL_KG[s]} for s in made]
    return doc

"""A small shop for the domain tests: one provider, two locations, a few items (prices in paise)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mercato.seller.domain import (
    Address,
    Catalog,
    Category,
    DeliveryPolicy,
    Descriptor,
    FulfillmentType,
    GeoPoint,
    Item,
    Location,
    Money,
    Offer,
    Option,
    PriceBreak,
    Provider,
    StockBook,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
BOTH = frozenset({FulfillmentType.DELIVERY, FulfillmentType.PICKUP})


def inr(paise: int) -> Money:
    return Money(paise, "INR")


def make_catalog() -> Catalog:
    blr = Address("1 MG Road", "std:080", "560001", "Karnataka")
    return Catalog.build(
        providers=[Provider("P1", Descriptor("Corner Store")), Provider("P2", Descriptor("Other Store"))],
        locations=[
            Location("L1", "P1", blr, GeoPoint.parse("12.975000,77.606000"), frozenset({"std:080"}), 10_000),
            Location(
                "L2",
                "P1",
                blr,
                GeoPoint.parse("12.935000,77.624000"),
                frozenset({"std:080"}),
                None,
                pickup=False,
            ),
            Location("L9", "P2", blr, GeoPoint.parse("12.9,77.6"), frozenset({"std:011"})),
        ],
        categories=[Category("grocery", "Grocery"), Category("tea", "Tea", "grocery")],
        items=[
            Item(
                "A",
                "P1",
                Descriptor("Assam tea 500 g", images=("https://img.example/a.jpg",)),
                inr(10_000),
                category_id="tea",
                price_breaks=(PriceBreak(5, inr(9_000)), PriceBreak(10, inr(8_500))),
                tax_rate_bp=1800,
                returnable=True,
                return_window=timedelta(days=7),
                fulfillment_types=BOTH,
                max_quantity=20,
            ),
            Item(
                "B",
                "P1",
                Descriptor("Fresh milk 1 l"),
                inr(2_550),
                category_id="grocery",
                tax_rate_bp=500,
                cancellable=False,
                fulfillment_types=BOTH,
                max_quantity=10,
            ),
            Item(
                "C-M",
                "P1",
                Descriptor("Tea kettle, medium"),
                inr(99_900),
                parent_item_id="C",
                options=(Option("size", "M"),),
                tax_rate_bp=1200,
                returnable=True,
                return_window=timedelta(days=10),
                max_quantity=5,
            ),
            Item(
                "C-L",
                "P1",
                Descriptor("Tea kettle, large"),
                inr(129_900),
                parent_item_id="C",
                options=(Option("size", "L"),),
                tax_rate_bp=1200,
                max_quantity=5,
                location_ids=("L1",),
            ),
            Item("Z", "P2", Descriptor("Elsewhere"), inr(100)),
        ],
    )


def make_stock() -> StockBook:
    s = StockBook()
    s.receive("A", "L1", 5, T0)
    s.receive("A", "L2", 3, T0)
    s.receive("B", "L1", 4, T0)
    s.receive("C-M", "L2", 2, T0)
    s.set_backorder("C-L", "L1", True, T0)
    return s


DELIVERY = DeliveryPolicy(inr(4_000), free_from=inr(50_000), tax_rate_bp=1800)
WELCOME = Offer("WELCOME10", percent_bp=1000, min_subtotal=inr(20_000))

"""The pool coordinator in the local network's plan, and the seeded cross-manufacturer pool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.network import seeds
from mercato.network.local import NetworkPlan, pool_offer_spec
from mercato.pools.offers import offer_from_doc
from mercato.pools.signed import rfc3339


def test_the_coordinator_takes_the_port_after_the_gateway_unless_told(tmp_path: Path) -> None:
    plan = NetworkPlan(tmp_path, sellers=1, gateway_port=9002)
    assert plan.coordinator_port == 9003 and plan.coordinator_url == "http://127.0.0.1:9003"
    assert plan.coordinator_dir == tmp_path.resolve() / "coordinator"
    told = NetworkPlan(tmp_path, sellers=1, coordinator_port=9100, addresses={"coordinator": "10.0.0.5"})
    assert told.coordinator_url == "http://10.0.0.5:9100"


def test_the_coordinator_token_is_read_from_its_data_dir(tmp_path: Path) -> None:
    plan = NetworkPlan(tmp_path, sellers=1)
    with pytest.raises(FileNotFoundError):
        plan.coordinator_token()
    plan.coordinator_dir.mkdir()
    (plan.coordinator_dir / "admin-token").write_text("s3cret\n")
    assert plan.coordinator_token() == "s3cret"


def test_shops_pick_seed_shops_and_the_manufacturers(tmp_path: Path) -> None:
    assert [n.shop.kind for n in NetworkPlan(tmp_path, sellers=4).manufacturers()] == ["manufacturer"]
    assert len(NetworkPlan(tmp_path, sellers=8).manufacturers()) == 2
    plan = NetworkPlan(tmp_path, shops=(3, 7), first_seller_port=9011)
    assert plan.sellers == 2
    assert [n.shop.name for n in plan.seller_nodes] == [seeds.shop_for(3).name, seeds.shop_for(7).name]
    assert [n.port for n in plan.seller_nodes] == [9011, 9012]
    assert plan.manufacturers() == plan.seller_nodes
    assert NetworkPlan(tmp_path, shops=()).seller_nodes == []


@pytest.mark.parametrize("shops", [(3, 3), (-1, 3)])
def test_bad_shop_lists_are_refused(tmp_path: Path, shops: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="distinct non-negative"):
        NetworkPlan(tmp_path, shops=shops)


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
def test_the_cross_pool_deadline_is_noon_a_week_on_and_the_same_all_day(now: datetime) -> None:
    deadline = seeds.cross_pool_deadline(now)
    assert (deadline.hour, deadline.minute, deadline.second, deadline.tzinfo) == (12, 0, 0, UTC)
    assert (
        timedelta(days=seeds.CROSS_POOL_DAYS - 1)
        < deadline - now
        <= timedelta(days=seeds.CROSS_POOL_DAYS + 1)
    )
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert seeds.cross_pool_deadline(start_of_day) == deadline


def test_the_seeded_cross_pool_offers_are_valid_offers_of_one_pool() -> None:
    deadline = seeds.cross_pool_deadline(datetime.now(UTC))
    offers = []
    for which, (offer, capacity) in enumerate(
        zip(seeds.CROSS_POOL_OFFERS, seeds.CROSS_POOL_CAPACITY, strict=True)
    ):
        spec = pool_offer_spec(offer, deadline)
        doc = {
            **spec,
            "bpp_id": f"maker{which}.test",
            "item_id": offer.sku,
            "provider_id": "p",
            "pool": seeds.CROSS_POOL_ID,
            "coordinator": "http://127.0.0.1:8003",
            "manufacturer_capacity": capacity,
            "currency": seeds.CURRENCY,
            "deadline": rfc3339(deadline),
            "cities": [seeds.CITY],
        }
        offers.append(offer_from_doc(doc))  # raises on bad tiers, MOQ, capacity or dates
    assert (
        len({o.id for o in offers}) == 2 and len({o.item_id for o in offers}) == 1
    )  # one product, two makers
    # substitutes: each is the cheaper one somewhere, so which runs depends on the demand
    assert offers[0].tiers[-1].unit_price < offers[1].tiers[-1].unit_price
    assert offers[1].tiers[0].unit_price < offers[0].tiers[0].unit_price

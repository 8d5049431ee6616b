"""Pool offers and their tags, signed commitments, the pool book, and verifying a clearing."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.pools.book import PoolBook, run_clearing
from mercato.pools.model import PoolInputError
from mercato.pools.offers import (
    from_decimal,
    from_tags,
    offer_from_doc,
    progress,
    to_decimal,
    to_tags,
)
from mercato.pools.signed import (
    Signed,
    canonical,
    check_signature,
    commitment_from_doc,
    parse_body,
    rfc3339,
    sign_doc,
)
from mercato.pools.verify import verify
from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import SignatureError

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=1)
SELLER, SELLER2, BUYER = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()


def offer_doc(item: str = "bottle", bpp: str = "maker.test", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "bpp_id": bpp,
        "bpp_uri": f"http://{bpp}",
        "item_id": item,
        "provider_id": "maker",
        "pool": "p1",
        "coordinator": "http://coord.test",
        "name": "Steel bottle",
        "manufacturer_capacity": 500,
        "currency": "INR",
        "moq": 10,
        "capacity": 300,
        "tiers": [{"min_quantity": 1, "unit_price": 100_000}, {"min_quantity": 50, "unit_price": 85_000}],
        "deadline": rfc3339(DEADLINE),
        "production_start": rfc3339(DEADLINE + timedelta(days=1)),
        "delivery_start": rfc3339(DEADLINE + timedelta(days=5)),
        "delivery_end": rfc3339(DEADLINE + timedelta(days=8)),
        "cities": ["std:080"],
    }
    doc.update(over)
    return doc


def signed_offer(doc: dict[str, Any], keys: KeyPair = SELLER) -> Signed:
    s = sign_doc({"kind": "offer", "offer": doc}, keys.signing, doc["bpp_id"], "k1", now=NOW.timestamp())
    return Signed(s.body, s.signature, keys.signing_public_key)


def commitment(qty: int, price: int, offers: list[str], **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "commitment",
        "id": str(uuid.uuid4()),
        "pool": "p1",
        "bap_id": "buyer.test",
        "quantity": qty,
        "max_unit_price": price,
        "currency": "INR",
        "offers": offers,
        "expires_at": rfc3339(DEADLINE + timedelta(days=1)),
        "created_at": rfc3339(NOW),
    }
    doc.update(over)
    return doc


def signed_commitment(doc: dict[str, Any], keys: KeyPair = BUYER, signer: str = "buyer.test") -> Signed:
    s = sign_doc(
        doc, keys.signing, signer, "k1", valid_until=DEADLINE + timedelta(days=1), now=NOW.timestamp()
    )
    return Signed(s.body, s.signature, keys.signing_public_key)


def book_with_offers() -> PoolBook:
    book = PoolBook("p1")
    book.add_offer(signed_offer(offer_doc("bottle")))
    book.add_offer(signed_offer(offer_doc("flask", tiers=[{"min_quantity": 1, "unit_price": 90_000}])))
    return book


# -- offers and tags ----------------------------------------------------------------------------


def test_offer_round_trips_through_its_beckn_tags() -> None:
    offer = offer_from_doc(offer_doc())
    item = {"id": "bottle", "descriptor": {"name": "Steel bottle"}, "tags": to_tags(offer)}
    back = from_tags(item, "maker.test", "maker", "http://maker.test")
    assert back == offer
    assert offer.id == "maker.test/bottle"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"tiers": [{"min_quantity": 1, "unit_price": 100}, {"min_quantity": 1, "unit_price": 90}]},
            "overlap",
        ),
        (
            {"tiers": [{"min_quantity": 1, "unit_price": 100}, {"min_quantity": 5, "unit_price": 100}]},
            "decrease",
        ),
        ({"moq": 400}, "moq 400 is above capacity 300"),
        ({"production_start": rfc3339(NOW)}, "before the commitment deadline"),
        ({"delivery_end": rfc3339(DEADLINE)}, "before it starts"),
        ({"coordinator": "ftp://x"}, "http(s) URL"),
        ({"manufacturer_capacity": 0}, "manufacturer_capacity"),
        ({"deadline": "tomorrow"}, "RFC 3339"),
    ],
)
def test_bad_offers_are_refused_with_a_reason(over: dict[str, Any], message: str) -> None:
    with pytest.raises(PoolInputError) as err:
        offer_from_doc(offer_doc(**over))
    assert message in str(err.value)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_decimal_money_round_trips(minor: int) -> None:
    assert from_decimal(to_decimal(minor)) == minor


def test_decimal_with_too_many_places_is_refused() -> None:
    with pytest.raises(ValueError, match="decimal places"):
        from_decimal("1.005")


@given(st.lists(st.tuples(st.integers(1, 40), st.booleans()), max_size=12))
def test_progress_counts_units_and_reports_the_tier_reached(entries: list[tuple[int, bool]]) -> None:
    offer = offer_from_doc(offer_doc())
    live = [(q, [offer.id] if first else ["other/x", offer.id]) for q, first in entries]
    p = progress(offer, live)
    total = sum(q for q, _ in entries)
    assert p.committed == total
    assert p.first_choice == sum(q for q, first in entries if first)
    expected_tier = None if total < 1 else (1 if total >= 50 else 0)
    assert p.tier == expected_tier
    assert p.unit_price == (None if expected_tier is None else offer.tiers[expected_tier].unit_price)
    if expected_tier == 1:
        assert p.to_next_tier is None
    else:
        assert p.to_next_tier == (1 if expected_tier is None else 50) - total
    assert p.to_moq == max(0, 10 - total)


# -- signed documents ---------------------------------------------------------------------------


def test_a_signed_commitment_verifies_and_a_forged_one_does_not() -> None:
    s = signed_commitment(commitment(3, 95_000, ["maker.test/bottle"]))
    check_signature(s, BUYER.signing_public_key, now=NOW.timestamp())
    forged = signed_commitment(commitment(3, 95_000, ["maker.test/bottle"]), keys=KeyPair.generate())
    with pytest.raises(SignatureError):
        check_signature(forged, BUYER.signing_public_key, now=NOW.timestamp())
    doc = s.doc
    doc["quantity"] = 300
    altered = Signed(canonical(doc), s.signature, s.public_key)
    with pytest.raises(SignatureError):
        check_signature(altered, BUYER.signing_public_key, now=NOW.timestamp())


def test_a_body_that_is_not_canonical_is_refused() -> None:
    body = b'{"quantity": 3, "kind": "commitment"}'
    with pytest.raises(PoolInputError, match="canonical"):
        parse_body(body)
    assert parse_body(canonical({"kind": "commitment"}))["kind"] == "commitment"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"quantity": 0}, "quantity must be positive"),
        ({"quantity": -2}, "quantity must be positive"),
        ({"max_unit_price": -1}, "must not be negative"),
        ({"offers": []}, "non-empty list"),
        ({"offers": ["a/b", "a/b"]}, "same offer twice"),
        ({"expires_at": rfc3339(NOW - timedelta(hours=1))}, "after created_at"),
        ({"quantity": "3"}, "must be an integer"),
    ],
)
def test_bad_commitment_fields_are_refused(over: dict[str, Any], message: str) -> None:
    with pytest.raises(PoolInputError, match=message):
        commitment_from_doc({**commitment(3, 1, ["a/b"]), **over})


# -- the book -----------------------------------------------------------------------------------


def test_book_admits_commitments_and_refuses_bad_ones() -> None:
    book = book_with_offers()
    ok = book.admit(signed_commitment(commitment(20, 95_000, ["maker.test/bottle"])), NOW)
    assert ok.quantity == 20
    cases = [
        (commitment(1, 1, ["maker.test/nothing"]), "unknown offer"),
        (commitment(1, 1, ["maker.test/bottle"], pool="p2"), "not 'p1'"),
        (commitment(1, 1, ["maker.test/bottle"], currency="USD"), "currency USD"),
        (commitment(1, 1, ["maker.test/bottle"], expires_at=rfc3339(DEADLINE)), "before the pool's deadline"),
        (
            commitment(1, 1, ["maker.test/bottle"], expires_at=rfc3339(NOW - timedelta(minutes=1)),
                       created_at=rfc3339(NOW - timedelta(hours=1))),
            "expired",
        ),
    ]  # fmt: skip
    for doc, message in cases:
        with pytest.raises(PoolInputError, match=message):
            book.admit(signed_commitment(doc), NOW)
    with pytest.raises(PoolInputError, match="signed by 'someone.else'"):
        book.admit(signed_commitment(commitment(1, 1, ["maker.test/bottle"]), signer="someone.else"), NOW)
    with pytest.raises(PoolInputError, match="already received"):
        book.admit(signed_commitment(commitment(1, 1, ["maker.test/bottle"], id=ok.id)), NOW)
    with pytest.raises(PoolInputError, match="closed"):
        book.admit(signed_commitment(commitment(1, 1, ["maker.test/bottle"])), DEADLINE)
    assert len(book.commitments) == 1


def test_revocation_only_by_the_buyer_and_before_the_deadline() -> None:
    book = book_with_offers()
    c = book.admit(signed_commitment(commitment(20, 95_000, ["maker.test/bottle"])), NOW)
    rev = {"kind": "revocation", "commitment": c.id, "bap_id": "buyer.test", "created_at": rfc3339(NOW)}
    with pytest.raises(PoolInputError, match="only be revoked by"):
        book.revoke(signed_commitment({**rev, "bap_id": "other"}, signer="other"), NOW)
    with pytest.raises(PoolInputError, match="closed"):
        book.revoke(signed_commitment(rev), DEADLINE)
    assert book.revoke(signed_commitment(rev), NOW) == c.id
    assert book.progress()[0].committed == 0
    with pytest.raises(PoolInputError, match="already revoked"):
        book.revoke(signed_commitment(rev), NOW)


def test_offer_from_another_pool_or_not_signed_by_its_seller_is_refused() -> None:
    book = PoolBook("p1")
    with pytest.raises(PoolInputError, match="belongs to pool"):
        book.add_offer(signed_offer(offer_doc(pool="p2")))
    s = sign_doc({"kind": "offer", "offer": offer_doc()}, SELLER.signing, "impostor", "k1")
    with pytest.raises(PoolInputError, match="signed by its seller"):
        book.add_offer(s)
    book.add_offer(signed_offer(offer_doc()))
    with pytest.raises(PoolInputError, match="deadline"):
        book.add_offer(signed_offer(offer_doc("cup", deadline=rfc3339(DEADLINE + timedelta(minutes=5)))))


# -- clearing and verifying ---------------------------------------------------------------------


def cleared_book() -> tuple[dict[str, Any], dict[str, Any]]:
    book = PoolBook("p1")
    book.add_offer(signed_offer(offer_doc("bottle")))
    book.add_offer(signed_offer(offer_doc("jug", bpp="maker2.test", manufacturer_capacity=40), SELLER2))
    for qty, price, offers in (
        (30, 95_000, ["maker.test/bottle"]),
        (25, 90_000, ["maker.test/bottle", "maker2.test/jug"]),
        (5, 70_000, ["maker2.test/jug"]),
        (8, 99_000, ["maker2.test/jug"]),
    ):
        book.admit(signed_commitment(commitment(qty, price, offers)), NOW)
    gone = book.admit(signed_commitment(commitment(9, 99_000, ["maker.test/bottle"])), NOW)
    rev = {"kind": "revocation", "commitment": gone.id, "bap_id": "buyer.test", "created_at": rfc3339(NOW)}
    book.revoke(signed_commitment(rev), NOW)
    doc = book.clearing_input(DEADLINE)
    return doc, run_clearing(doc, 10.0)


def test_a_published_clearing_verifies() -> None:
    doc, result = cleared_book()
    assert len(doc["commitments"]) == 4  # the revoked one is out
    assert result["objective"] > 0
    verdict = verify(doc, result)
    assert verdict.ok, verdict.problems
    assert verdict.checked["signed_commitments"] == 5


def tamper_cases() -> list[tuple[str, Any]]:
    def claim_more(doc: dict[str, Any], res: dict[str, Any]) -> None:
        res["objective"] += 1

    def drop_accepted(doc: dict[str, Any], res: dict[str, Any]) -> None:
        a = res["accepted"].pop()
        res["rejected"].append({"commitment": a["commitment"], "reason": "capacity"})
        res["objective"] -= a["surplus"]
        for r in res["runs"]:
            if r["offer"] == a["offer"]:
                r["quantity"] -= a["quantity"]

    def raise_quantity(doc: dict[str, Any], res: dict[str, Any]) -> None:
        doc["commitments"][0]["quantity"] += 1

    def drop_commitment(doc: dict[str, Any], res: dict[str, Any]) -> None:
        doc["commitments"].pop()

    def forge_signature(doc: dict[str, Any], res: dict[str, Any]) -> None:
        doc["signed"]["commitments"][0]["public_key"] = KeyPair.generate().signing_public_key

    def cheaper_tier(doc: dict[str, Any], res: dict[str, Any]) -> None:
        doc["offers"][0]["tiers"][0]["unit_price"] -= 1

    return [
        ("objective", claim_more),
        ("re-running", drop_accepted),
        ("differs from what its buyer app signed", raise_quantity),
        ("left out of the input", drop_commitment),
        ("signature does not verify", forge_signature),
        ("differs from what its seller signed", cheaper_tier),
    ]


@pytest.mark.parametrize(("message", "tamper"), tamper_cases(), ids=[m for m, _ in tamper_cases()])
def test_a_tampered_clearing_is_refuted(message: str, tamper: Any) -> None:
    doc, result = cleared_book()
    doc, result = copy.deepcopy(doc), copy.deepcopy(result)
    tamper(doc, result)
    verdict = verify(doc, result)
    assert not verdict.ok
    assert any(message in p for p in verdict.problems), verdict.problems


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 60), st.integers(60_000, 120_000), st.booleans()), min_size=1, max_size=8
    )
)
def test_clearing_the_book_is_deterministic_and_verifies(entries: list[tuple[int, int, bool]]) -> None:
    book = book_with_offers()
    for qty, price, both in entries:
        offers = ["maker.test/bottle", "maker.test/flask"] if both else ["maker.test/flask"]
        book.admit(signed_commitment(commitment(qty, price, offers)), NOW)
    doc = book.clearing_input(DEADLINE)
    first, second = run_clearing(doc, 10.0), run_clearing(copy.deepcopy(doc), 10.0)
    assert first == second
    limit = {c["id"]: c["max_unit_price"] for c in doc["commitments"]}
    assert all(a["unit_price"] <= limit[a["commitment"]] for a in first["accepted"])
    assert verify(doc, first).ok

"""The publication format (pure): building, parsing, bad documents, prices, attestations, the
search mode tag."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.protocol.catalog_publish import (
    PublishError,
    attestation_tag,
    build_publication,
    index_entries,
    parse_publication,
    read_search_mode,
    search_mode_tag,
    sign_publication,
    to_minor,
    verify_attestation,
)
from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import SignatureError

CAT = {
    "providers": [
        {
            "id": "p",
            "locations": [{"id": "l", "city": {"code": "std:080"}}],
            "categories": [{"id": "c", "descriptor": {"name": "Fruit"}}],
            "items": [
                {
                    "id": "a",
                    "descriptor": {"name": "Apple"},
                    "category_ids": ["c"],
                    "location_ids": ["l"],
                    "price": {"currency": "INR", "value": "12.5"},
                },
                {"id": "b", "descriptor": {"name": "Pear"}},
            ],
        }
    ]
}


def doc(**over: Any) -> bytes:
    base = {
        "format": "mercato.catalog/1",
        "bpp_id": "s",
        "bpp_uri": "http://s/b",
        "domain": "d",
        "cities": ["std:080", "std:011"],
        "version": 1,
        "kind": "snapshot",
        "published_at": "2026-01-01T00:00:00Z",
        "catalog": CAT,
    }
    base.update(over)
    return orjson.dumps({k: v for k, v in base.items() if v is not None})


def test_entries_of_a_snapshot() -> None:
    a, b = index_entries(parse_publication(doc()))
    assert (a.item_id, a.cities, a.category_names, a.price_minor, a.currency) == (
        "a",
        ("std:080",),
        ("Fruit",),
        1250,
        "INR",
    )
    assert (b.cities, b.price_minor) == (
        ("std:080", "std:011"),
        None,
    )  # no location: the publication's cities


@pytest.mark.parametrize(
    ("over", "path"),
    [
        ({"format": "x"}, "format"),
        ({"bpp_id": ""}, "bpp_id"),
        ({"bpp_uri": "ftp://x"}, "bpp_uri"),
        ({"cities": []}, "cities"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
        ({"version": 1.5}, "version"),
        ({"kind": "patch"}, "kind"),
        ({"published_at": "yesterday"}, "published_at"),
        ({"kind": "delta"}, "base_version"),
        ({"kind": "delta", "base_version": 1}, "version"),
        ({"kind": "delta", "base_version": 0}, "base_version"),
        ({"kind": "delta", "base_version": 1, "version": 2, "removed": [{"item_id": "x"}]}, "removed[0]"),
        ({"base_version": 1}, "kind"),
        ({"catalog": []}, "catalog"),
        ({"catalog": {"providers": [{"items": []}]}}, "catalog.providers[0].id"),
        (
            {"catalog": {"providers": [{"id": "p", "items": [{"descriptor": {}}]}]}},
            "catalog.providers[0].items[0].id",
        ),
        ({"catalog": {"providers": [{"id": "p"}, {"id": "p"}]}}, "catalog.providers[1].id"),
        (
            {
                "catalog": {
                    "providers": [
                        {"id": "p", "items": [{"id": "i", "price": {"currency": "INR", "value": "1.001"}}]}
                    ]
                }
            },
            "catalog.providers[0].items[0].price",
        ),
    ],
)
def test_bad_documents_name_the_field(over: dict[str, Any], path: str) -> None:
    with pytest.raises(PublishError) as err:
        parse_publication(doc(**over))
    assert err.value.path == path


def test_not_json_or_not_an_object() -> None:
    for body in (b"{", b"[]", b'"x"'):
        with pytest.raises(PublishError):
            parse_publication(body)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["INR", "JPY", "KWD", "usd"]))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    exp = {"JPY": 0, "KWD": 3}.get(currency, 2)
    text = str(minor) if exp == 0 else f"{minor // 10**exp}.{minor % 10**exp:0{exp}d}"
    assert to_minor(text, currency) == minor


@given(st.text(max_size=40))
def test_any_bytes_are_refused_cleanly(text: str) -> None:
    try:
        parse_publication(text.encode())
    except PublishError:
        pass


def test_attestation_round_trip_and_tampering() -> None:
    seller = KeyPair.generate()
    body = build_publication(
        bpp_id="s",
        bpp_uri="http://s/b",
        domain="d",
        cities=["std:080"],
        version=3,
        catalog=CAT,
        published_at="2026-01-01T00:00:00Z",
    )
    auth = sign_publication(body, seller.signing, "s", "k1")["Authorization"]
    tag = attestation_tag(
        bpp_id="s", bpp_uri="http://s/b", version=3, kind="snapshot", body=body, authorization=auth
    )
    att = verify_attestation(tag, seller.signing_public_key)
    assert att.version == 3 and att.item("p", "a") == CAT["providers"][0]["items"][0]
    assert att.item("p", "zz") is None
    with pytest.raises(SignatureError):
        verify_attestation(tag, KeyPair.generate().signing_public_key)
    # signed by another subscriber than the publication's bpp_id
    other = sign_publication(body, seller.signing, "t", "k1")["Authorization"]
    with pytest.raises(SignatureError):
        verify_attestation(
            {
                **tag,
                "list": [
                    *tag["list"][:4],
                    {"descriptor": {"code": "authorization"}, "value": other},
                    tag["list"][5],
                ],
            },
            seller.signing_public_key,
        )
    with pytest.raises(PublishError):
        verify_attestation({"descriptor": {"code": "other"}}, seller.signing_public_key)


def test_search_mode_tag() -> None:
    assert read_search_mode([search_mode_tag("index")]) == "index"
    assert read_search_mode(None) == "broadcast"
    assert read_search_mode([{"descriptor": {"code": "other"}}], default="both") == "both"
    with pytest.raises(ValueError):
        read_search_mode(
            [{"descriptor": {"code": "mercato"}, "list": [{"descriptor": {"code": "mode"}, "value": "all"}]}]
        )
    with pytest.raises(ValueError):
        search_mode_tag("all")

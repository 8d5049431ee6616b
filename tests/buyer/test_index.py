"""Index answers from a gateway: the buyer trusts a result only through the seller's signature on
its catalog publication, and takes items and prices from that signed publication."""

from __future__ import annotations

import copy
from typing import Any

from mercato.buyer.sdk import Client
from mercato.protocol.catalog_publish import attestation_tag, build_publication, sign_publication
from mercato.protocol.messages import format_timestamp
from tests.buyer.harness import TOKEN, FakeSeller, Net


def _published(seller: FakeSeller, version: int, price: str) -> tuple[dict[str, Any], bytes, str]:
    items = [
        {
            "id": "rice-5kg",
            "descriptor": {"name": "Basmati rice 5 kg"},
            "price": {"currency": "INR", "value": price},
        },
    ]
    catalog = {"providers": [{"id": seller.provider_id, "descriptor": {"name": seller.id}, "items": items}]}
    body = build_publication(
        bpp_id=seller.id,
        bpp_uri=seller.url,
        domain="ONDC:RET10",
        cities=["std:080"],
        version=version,
        catalog=catalog,
        published_at=format_timestamp(),
    )
    auth = sign_publication(body, seller.identity.keys.signing, seller.id, seller.identity.ukid)[
        "Authorization"
    ]
    return catalog, body, auth


def _index_catalog(
    seller: FakeSeller, catalog: dict[str, Any], body: bytes, auth: str, **override: Any
) -> dict[str, Any]:
    shown = copy.deepcopy(catalog)
    provider = shown["providers"][0]
    provider["items"].append({"id": "not-published", "price": {"currency": "INR", "value": "1.00"}})
    if "price" in override:
        provider["items"][0]["price"]["value"] = override["price"]
    tag = attestation_tag(
        bpp_id=seller.id,
        bpp_uri=seller.url,
        version=7,
        kind="snapshot",
        body=override.get("shown_body", body),
        authorization=auth,
    )
    provider["tags"] = [tag]
    return shown


async def test_index_results_are_checked_against_the_sellers_signature(sqlite_net: Net) -> None:
    a, b = sqlite_net.sellers
    cat_a, body_a, auth_a = _published(a, 7, "450.00")
    cat_b, body_b, auth_b = _published(b, 7, "99.00")
    tampered = body_b.replace(b"99.00", b"9.00")
    sqlite_net.gateway.index_catalogs = [
        _index_catalog(a, cat_a, body_a, auth_a, price="1.00"),  # the gateway shows a price it invented
        _index_catalog(
            b, cat_b, body_b, auth_b, shown_body=tampered
        ),  # a publication the seller never signed
        {"providers": [{"id": "gw-own", "items": [{"id": "x", "price": {"currency": "INR", "value": "5"}}]}]},
    ]
    async with Client(sqlite_net.url, TOKEN) as c:
        stream = c.search("rice", deadline=1.0, mode="index")
        results = [r async for r in stream]
    assert len(results) == 1
    (r,) = results
    assert (r.bpp_id, r.bpp_uri, r.source, r.catalog_version) == (a.id, a.url, "index", "7")
    assert r.signature is not None and f'keyId="{a.id}|' in r.signature
    assert [(i.id, i.price) for i in r.items] == [("rice-5kg", 45000)]  # the signed price, signed items only

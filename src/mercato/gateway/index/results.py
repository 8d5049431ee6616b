"""Index hits as Beckn ``on_search`` messages (one per seller) and as plain JSON.

An ``on_search`` built from the index is signed by the gateway (its ``context.bpp_id`` and
``bpp_uri`` are the gateway's, because nobody else signed these bytes). Every provider in it
carries a ``mercato:attestation`` tag group with the seller's exact publication bytes and the
seller's ``Authorization`` over them, plus ``bpp_id``, ``bpp_uri`` and ``catalog_version``: a buyer
app checks with :func:`mercato.protocol.catalog_publish.verify_attestation` that each item is what
the seller published, then selects from the seller at ``bpp_uri``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mercato.gateway.index.store import Hit, StoredPublication
from mercato.protocol.catalog_publish import attestation_tag


def group_by_seller(hits: list[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for h in hits:
        out.setdefault(h.bpp_id, []).append(h)
    return out


def catalog_for_seller(
    hits: list[Hit],
    provider: Callable[[str, str], dict[str, Any] | None],
    publication: Callable[[int], StoredPublication | None],
) -> dict[str, Any]:
    """The ``message.catalog`` of one seller's index results."""
    providers: dict[str, dict[str, Any]] = {}
    attested: dict[str, set[int]] = {}
    for h in hits:
        p = providers.get(h.provider_id)
        if p is None:
            base = provider(h.bpp_id, h.provider_id) or {"id": h.provider_id}
            p = {**base, "items": []}
            providers[h.provider_id] = p
        p["items"].append(h.item)
        attested.setdefault(h.provider_id, set()).add(h.publication_id)
    for pid, p in providers.items():
        tags = list(p.get("tags") or [])
        for pub_id in sorted(attested[pid]):
            stored = publication(pub_id)
            if stored is None:  # replaced between the query and now: leave it out
                continue
            tags.append(
                attestation_tag(
                    bpp_id=stored.bpp_id,
                    bpp_uri=stored.bpp_uri,
                    version=stored.version,
                    kind=stored.kind,
                    body=stored.body,
                    authorization=stored.authorization,
                )
            )
        p["tags"] = tags
    first = hits[0]
    return {
        "descriptor": {"name": f"index:{first.bpp_id}", "code": "mercato:index"},
        "providers": list(providers.values()),
    }


def hit_json(h: Hit, authorization: str) -> dict[str, Any]:
    price = h.item.get("price") or {}
    return {
        "bpp_id": h.bpp_id,
        "bpp_uri": h.bpp_uri,
        "provider_id": h.provider_id,
        "item_id": h.item_id,
        "name": h.name,
        "category_ids": list(h.category_ids),
        "cities": list(h.cities),
        "price": {"currency": price.get("currency"), "value": price.get("value"), "minor": h.price_minor},
        "catalog_version": h.version,
        "publication": f"/index/publications/{h.bpp_id}/{h.version}",
        "authorization": authorization,
        "item": h.item,
    }

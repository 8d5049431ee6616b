"""Publishing the catalog to gateways: a signed snapshot (``mercato.catalog/1``) to
``POST {gateway}/catalog/publish``. The version is the publication time in milliseconds, so it grows
with every publication without any state kept on the node."""

from __future__ import annotations

import time

import httpx

from mercato.protocol.catalog_publish import PublishError, build_publication, sign_publication
from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import format_timestamp
from mercato.seller.config import SellerConfig
from mercato.seller.handlers import Env, Identity
from mercato.seller.handlers.discovery import SearchQuery, run_search
from mercato.seller.store import Store, open_store

__all__ = ["PublishError", "publish", "snapshot"]


def snapshot(config: SellerConfig, store: Store | None = None) -> bytes:
    """The node's whole catalog as one publication's exact bytes (from ``store``, or the config's)."""
    own = store is None
    st = store or open_store(config.database_url)
    me = Identity(config.subscriber_id, config.public_url, config.domain, config.country, "*")
    try:
        catalog = run_search(Env(st, me), SearchQuery(page_size=1_000_000))["catalog"]
    finally:
        if own:
            st.engine.dispose()
    return build_publication(
        bpp_id=config.subscriber_id,
        bpp_uri=config.public_url,
        domain=config.domain,
        cities=list(config.cities),
        version=time.time_ns() // 1_000_000,
        catalog=catalog,
        published_at=format_timestamp(),
    )


def publish(
    config: SellerConfig, timeout_s: float = 30.0, *, store: Store | None = None, keys: KeyPair | None = None
) -> list[tuple[str, int, str]]:
    """Send the snapshot to every configured gateway; (url, HTTP status, answer text) for each."""
    body = snapshot(config, store)
    keys = keys or config.load_keys()
    headers = sign_publication(body, keys.signing, config.subscriber_id, config.unique_key_id)
    out = []
    with httpx.Client(timeout=timeout_s) as http:
        for url in config.gateway_urls:
            try:
                r = http.post(f"{url}/catalog/publish", content=body, headers=headers)
                out.append((url, r.status_code, r.text))
            except httpx.HTTPError as exc:
                out.append((url, 0, f"unreachable: {exc}"))
    return out

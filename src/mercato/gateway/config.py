"""The gateway's settings: identity, registry, database and the limits of broadcast and publish."""

from __future__ import annotations

from dataclasses import dataclass

from mercato.protocol.keys import KeyPair


@dataclass
class GatewaySettings:
    subscriber_id: str
    unique_key_id: str
    keys: KeyPair
    registry_url: str
    db_url: str
    #: the gateway's public base URL (sellers send on_search to ``{url}/on_search``)
    url: str = "http://127.0.0.1:8100"
    domains: tuple[str, ...] = ("*",)
    cities: tuple[str, ...] = ("*",)
    #: how long a registry answer "which sellers serve domain D in city C" is reused
    directory_ttl_s: float = 30.0
    #: how long a seller's key is trusted before it is looked up again (revocations show within it)
    key_cache_s: float = 60.0
    #: the longest the gateway waits for one seller to accept a forwarded search
    seller_timeout_s: float = 3.0
    #: items relayed per seller and search; an on_search that would pass it is refused (NACK)
    max_results_per_seller: int = 500
    #: consecutive failures that open a seller's circuit, and how long it stays open
    breaker_failures: int = 3
    breaker_cooldown_s: float = 30.0
    max_publish_bytes: int = 16 * 1024 * 1024
    default_mode: str = "broadcast"
    index_limit: int = 50
    #: a pinned registry signing key; None: trust GET {registry}/keys on first use
    registry_public_key: str | None = None

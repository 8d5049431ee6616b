"""One small HTTP connection pool per destination host.

httpx (httpcore) looks through every connection of a pool for each request, so a single pool with
a connection to each of hundreds of sellers (and several to each buyer app) spends more time
choosing a connection than sending. The gateway keeps a :class:`BecknClient` per scheme, host and
port instead, each with a few keep-alive connections.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mercato.gateway.config import GatewaySettings
from mercato.transport.client import BecknClient


class HostClients:
    def __init__(self, settings: GatewaySettings, *, per_host: int = 16, max_hosts: int = 20_000) -> None:
        self.settings = settings
        self.per_host = per_host
        self.max_hosts = max_hosts
        self._clients: dict[str, BecknClient] = {}
        self.signer = self._make()

    def _make(self) -> BecknClient:
        s = self.settings
        return BecknClient(
            s.subscriber_id,
            s.unique_key_id,
            s.keys.signing,
            timeout_s=s.seller_timeout_s,
            max_connections=self.per_host,
        )

    def for_url(self, url: str) -> BecknClient:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        client = self._clients.get(key)
        if client is None:
            if len(self._clients) >= self.max_hosts:  # a flood of hosts: share the fallback pool
                return self.signer
            client = self._make()
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        for c in self._clients.values():
            await c.aclose()
        self._clients.clear()
        await self.signer.aclose()

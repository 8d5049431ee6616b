"""The plan of a local network: which roles run where (ports, addresses, network namespaces), which
seeded shops become seller nodes, and where each keeps its data. Pure: nothing here starts anything."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mercato.network import seeds
from mercato.network.processes import StartError


@dataclass
class SellerNode:
    slug: str
    shop: seeds.SeedShop
    directory: Path
    port: int
    address: str = "127.0.0.1"

    @property
    def role(self) -> str:
        return f"seller-{self.slug}"

    @property
    def console_password_file(self) -> Path:
        """The merchant console password ``mercato up`` made on first start (0600)."""
        return self.directory / "console-password"

    @property
    def config(self) -> Path:
        return self.directory / "seller.toml"

    @property
    def subscriber_id(self) -> str:
        return f"{self.slug}.mercato.local"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def admin_token(self) -> str:
        m = re.search(r'^\[admin\][^\[]*?^token\s*=\s*"([^"]*)"', self.config.read_text(), re.M | re.S)
        if m is None:
            raise StartError(f"{self.config}: no [admin] token")
        return m.group(1)


@dataclass
class NetworkPlan:
    data_dir: Path
    sellers: int = 4
    postgres: str | None = None
    buyer_port: int = 8000
    registry_port: int = 8001
    gateway_port: int = 8002
    first_seller_port: int = 8011
    coordinator_port: int | None = None  # default: the gateway's port + 1
    domain: str = seeds.DOMAIN
    city: str = seeds.CITY
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every role
    # several hosts on one machine: role -> IP address it listens on and is reached at, and
    # role -> network namespace it runs in (roles: registry, gateway, buyer, seller-<slug>)
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    seller_nodes: list[SellerNode] = field(default_factory=list)
    # which seed shops to run (indices of seeds.shop_for); default: the first ``sellers`` of them
    shops: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        if self.coordinator_port is None:
            self.coordinator_port = self.gateway_port + 1
        indices = tuple(range(self.sellers)) if self.shops is None else self.shops
        if len(set(indices)) != len(indices) or any(i < 0 for i in indices):
            raise ValueError(f"shops must be distinct non-negative seed indices, got {indices}")
        self.sellers = len(indices)
        self.seller_nodes = []
        for i, index in enumerate(indices):
            shop = seeds.shop_for(index)
            slug = seeds.slug(shop)
            port = self.first_seller_port + i
            node = SellerNode(slug, shop, self.data_dir / "sellers" / slug, port)
            node.address = self.address(node.role)
            self.seller_nodes.append(node)

    def address(self, role: str) -> str:
        return self.addresses.get(role, "127.0.0.1")

    def db_url(self, role: str, sqlite_file: Path) -> str:
        if self.postgres:
            # every role its own schema; a ?schema=NAME on the URL becomes the schemas' prefix
            base, _, query = self.postgres.partition("?")
            params = [kv for kv in query.split("&") if kv]
            prefix = next((kv.split("=", 1)[1] for kv in params if kv.startswith("schema=")), "mercato")
            params = [kv for kv in params if not kv.startswith("schema=")]
            params.append(f"schema={prefix}_{re.sub(r'[^a-z0-9_]', '_', role.lower())}")
            return f"{base}?{'&'.join(params)}"
        return f"sqlite:///{sqlite_file}"

    @property
    def registry_url(self) -> str:
        return f"http://{self.address('registry')}:{self.registry_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.address('gateway')}:{self.gateway_port}"

    @property
    def buyer_url(self) -> str:
        return f"http://{self.address('buyer')}:{self.buyer_port}"

    @property
    def buyer_token_file(self) -> Path:
        return self.data_dir / "buyer" / "buyer.api-token"

    def buyer_token(self) -> str:
        return self.buyer_token_file.read_text().strip()

    @property
    def coordinator_url(self) -> str:
        return f"http://{self.address('coordinator')}:{self.coordinator_port}"

    @property
    def coordinator_dir(self) -> Path:
        return self.data_dir / "coordinator"

    def coordinator_token(self) -> str:
        """The bearer token of the coordinator's ``POST /pool/{pool}/clear`` (made at its first start)."""
        return (self.coordinator_dir / "admin-token").read_text().strip()

    def manufacturers(self) -> list[SellerNode]:
        return [n for n in self.seller_nodes if n.shop.kind == "manufacturer"]

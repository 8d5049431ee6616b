"""A whole network on loopback: registry, gateway, N seller nodes and one buyer node.

Every role is its own ``mercato ... serve`` process with its own database under the data folder,
onboarded through the real ``/subscribe`` → ``/on_subscribe`` flow. The first start makes keys,
configs and seeded catalogs; a later start with the same folder reuses them.

Layout of the data folder::

    registry/  registry.db  registry.key.json
    gateway/   gateway.db   gateway.key.json
    sellers/<slug>/  seller.toml  seller.key.json  seller.db  catalog.json  twin.json
    buyer/     buyer.db     buyer.key.json  buyer.api-token
    logs/      <role>.log
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mercato.keyfile import write_secret
from mercato.network import seeds
from mercato.network.processes import Child, StartError, mercato_argv, port_open, stop_all, wait_until

REGISTRY_ID = "registry.mercato.local"
GATEWAY_ID = "gateway.mercato.local"
BUYER_ID = "buyer.mercato.local"
START_TIMEOUT_S = 60.0
RETURN_DAYS = {"grocery": 2, "electronics": 7, "fashion": 10, "manufacturer": 10}


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
    domain: str = seeds.DOMAIN
    city: str = seeds.CITY
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every role
    # several hosts on one machine: role -> IP address it listens on and is reached at, and
    # role -> network namespace it runs in (roles: registry, gateway, buyer, seller-<slug>)
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    seller_nodes: list[SellerNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.seller_nodes = []
        for i in range(self.sellers):
            shop = seeds.shop_for(i)
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


# --- the seller's config and seeded catalog ----------------------------------------------------


def set_toml_values(text: str, values: dict[tuple[str, str], Any]) -> str:
    """Replace ``key = value`` lines in the named sections of a TOML file we generated ourselves."""
    out: list[str] = []
    section = ""
    for line in text.splitlines():
        head = re.match(r"^\[([^\]]+)\]\s*$", line)
        if head:
            section = head.group(1)
        kv = re.match(r"^(\w+)\s*=", line)
        if kv and (section, kv.group(1)) in values:
            line = f"{kv.group(1)} = {json.dumps(values[(section, kv.group(1))], ensure_ascii=False)}"
        out.append(line)
    return "\n".join(out) + "\n"


def native_catalog(shop: seeds.SeedShop) -> dict[str, Any]:
    """The seed shop in Mercato's own JSON catalog format (see ``mercato catalog import``)."""
    doc = seeds.catalog_document(shop)
    return {
        "categories": [{"id": c, "name": c} for c in doc["categories"]],
        "items": [
            {
                "id": it["sku"],
                "name": it["name"],
                "short_desc": it["description"] or it["name"],
                "price": f"{it['price'] // 100}.{it['price'] % 100:02d}",
                "currency": it["currency"],
                "category": it["category"],
                "tax_rate_bp": it["tax_bp"],
                "returnable": it["returnable"],
                **({"return_window_days": RETURN_DAYS[shop.kind]} if it["returnable"] else {}),
                "cancellable": it["cancellable"],
                "time_to_ship_hours": _hours(it["time_to_ship"]),
                "stock": it["stock"],
            }
            for it in doc["items"]
        ],
    }


def _hours(duration: str) -> int:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?)?", duration)
    if m is None:
        raise ValueError(f"unsupported duration {duration!r}")
    return int(m.group(1) or 0) * 24 + int(m.group(2) or 0)


def prepare_seller(plan: NetworkPlan, node: SellerNode) -> bool:
    """Write the seller's keys and config on first start. True when the catalog still needs seeding."""
    if node.config.exists():
        return False
    node.directory.mkdir(parents=True, exist_ok=True)
    run_cli(
        "seller",
        "init",
        "--dir",
        str(node.directory),
        "--subscriber-id",
        node.subscriber_id,
        "--port",
        str(node.port),
        "--registry-url",
        plan.registry_url,
        "--database-url",
        plan.db_url(f"seller_{node.slug}", node.directory / "seller.db"),
        "--gateway",
        plan.gateway_url,
    )
    doc = seeds.catalog_document(node.shop)
    loc = doc["location"]
    node.config.write_text(
        set_toml_values(
            node.config.read_text(),
            {
                ("node", "host"): node.address,
                ("node", "public_url"): node.url,
                ("node", "domain"): plan.domain,
                ("node", "cities"): [plan.city],
                ("store", "provider_id"): doc["provider"]["id"],
                ("store", "name"): doc["provider"]["name"],
                ("store", "location_id"): loc["id"],
                ("store", "street"): f"{loc['street']}, {loc['area']}",
                ("store", "city"): loc["city"],
                ("store", "gps"): loc["gps"],
            },
        )
    )
    (node.directory / "catalog.json").write_text(json.dumps(native_catalog(node.shop), indent=1))
    (node.directory / "twin.json").write_text(json.dumps(seeds.twin_document(node.shop), indent=1))
    return True


def run_cli(*args: str, attempts: int = 1) -> str:
    """Run a ``mercato`` command; retry when it says the failure was transient (HTTP 503)."""
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(mercato_argv(*args), capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return proc.stdout
        said = proc.stderr.strip() or proc.stdout.strip()
        if attempt < attempts and "503" in said:
            time.sleep(0.5 * attempt)
            continue
        raise StartError(f"`mercato {' '.join(args[:2])}` failed:\n{said}")
    raise AssertionError("unreachable")


# --- readiness ---------------------------------------------------------------------------------


def registry_ready(plan: NetworkPlan) -> Callable[[], bool]:
    def ready() -> bool:
        return httpx.get(f"{plan.registry_url}/keys", timeout=1).status_code == 200

    return ready


def subscribed(plan: NetworkPlan, subscriber_id: str) -> Callable[[], bool]:
    def ready() -> bool:
        r = httpx.post(f"{plan.registry_url}/lookup", json={"subscriber_id": subscriber_id}, timeout=1)
        return r.status_code == 200 and any(e.get("status") == "SUBSCRIBED" for e in r.json())

    return ready


# --- the network -------------------------------------------------------------------------------


class LocalNetwork:
    """Start and stop every role of a local network; ``with LocalNetwork(plan) as net: ...``."""

    def __init__(self, plan: NetworkPlan, say: Callable[[str], None] = print) -> None:
        self.plan = plan
        self.say = say
        self.children: list[Child] = []

    def __enter__(self) -> LocalNetwork:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _child(self, name: str, port: int, *args: str, env: dict[str, str] | None = None) -> Child:
        address = self.plan.address(name)
        if port_open(port, address):
            raise StartError(
                f"{address}:{port} for the {name} is already in use (is another network running?)"
            )
        argv = mercato_argv(*args)
        namespace = self.plan.namespaces.get(name)
        if namespace:
            argv = ["ip", "netns", "exec", namespace, *argv]
        log = self.plan.data_dir / "logs" / f"{name}.log"
        env = {**self.plan.env, **(env or {})}
        child = Child(name, argv, port, log, env=env, address=address)
        child.start()
        self.children.append(child)
        return child

    def start(self) -> None:
        p = self.plan
        d = p.data_dir
        for sub in ("registry", "gateway", "buyer", "logs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        reg = self._child(
            "registry",
            p.registry_port,
            "registry", "serve",
            "--db", p.db_url("registry", d / "registry" / "registry.db"),
            "--host", p.address("registry"),
            "--port", str(p.registry_port),
            "--key-file", str(d / "registry" / "registry.key.json"),
            "--registry-id", REGISTRY_ID,
        )  # fmt: skip
        wait_until(reg, registry_ready(p), START_TIMEOUT_S, "answer GET /keys")
        self.say(f"registry  {reg.url}")

        gw = self._child(
            "gateway",
            p.gateway_port,
            "gateway", "serve",
            "--db", p.db_url("gateway", d / "gateway" / "gateway.db"),
            "--host", p.address("gateway"),
            "--url", p.gateway_url,
            "--port", str(p.gateway_port),
            "--registry", p.registry_url,
            "--key-file", str(d / "gateway" / "gateway.key.json"),
            "--subscriber-id", GATEWAY_ID,
            "--domain", p.domain,
        )  # fmt: skip
        wait_until(gw, subscribed(p, GATEWAY_ID), START_TIMEOUT_S, "subscribe with the registry")
        self.say(f"gateway   {gw.url}")

        fresh = {node.slug: prepare_seller(p, node) for node in p.seller_nodes}
        sellers = [
            (
                node,
                self._child(node.role, node.port, "seller", "serve", "--config", str(node.config)),
            )
            for node in p.seller_nodes
        ]
        for node, child in sellers:
            wait_until(
                child, subscribed(p, node.subscriber_id), START_TIMEOUT_S, "subscribe with the registry"
            )
            if fresh[node.slug]:
                run_cli(
                    "catalog", "import", str(node.directory / "catalog.json"), "--config", str(node.config)
                )
                # the supply twin behind its promise dates (docs/supply.md)
                run_cli("supply", "load", str(node.directory / "twin.json"), "--config", str(node.config))
            run_cli("seller", "publish", "--config", str(node.config), attempts=5)
            self.say(
                f"seller    {child.url}  {node.shop.name} ({node.shop.kind}, {len(node.shop.items)} items)"
            )

        token = p.buyer_token() if p.buyer_token_file.exists() else secrets.token_urlsafe(24)
        write_secret(p.buyer_token_file, (token + "\n").encode(), replace=True)
        buyer = self._child(
            "buyer",
            p.buyer_port,
            "buyer", "serve",
            "--db", p.db_url("buyer", d / "buyer" / "buyer.db"),
            "--host", p.address("buyer"),
            "--public-url", p.buyer_url,
            "--port", str(p.buyer_port),
            "--registry", p.registry_url,
            "--gateway", p.gateway_url,
            "--key-file", str(d / "buyer" / "buyer.key.json"),
            "--subscriber-id", BUYER_ID,
            "--domain", p.domain,
            "--city", p.city,
            env={"MERCATO_BUYER_API_TOKEN": token},  # not on the command line, where `ps` shows it
        )  # fmt: skip
        wait_until(buyer, subscribed(p, BUYER_ID), START_TIMEOUT_S, "subscribe with the registry")
        self.say(f"buyer     {buyer.url}  (local API token in {p.buyer_token_file})")
        self.say(f"network up in {time.monotonic() - t0:.1f}s; data in {d}, logs in {d / 'logs'}")

    def running(self) -> bool:
        """True when this plan's network already answers (started by another `mercato up`)."""
        p = self.plan
        up = port_open(p.registry_port, p.address("registry")) and port_open(p.buyer_port, p.address("buyer"))
        if not (up and p.buyer_token_file.exists()):
            return False
        try:
            return subscribed(p, BUYER_ID)() and registry_ready(p)()
        except httpx.HTTPError:
            return False

    def check(self) -> str | None:
        """The name of a role whose process has died, if any."""
        for child in self.children:
            if not child.alive():
                return child.name
        return None

    def stop(self) -> None:
        stop_all(self.children)
        self.children.clear()

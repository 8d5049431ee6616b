"""A whole network on loopback: registry, gateway, pool coordinator, N seller nodes and one buyer node.

Every role is its own ``mercato ... serve`` process with its own database under the data folder,
onboarded through the real ``/subscribe`` → ``/on_subscribe`` flow. The first start makes keys,
configs and seeded catalogs; a later start with the same folder reuses them.

Layout of the data folder::

    registry/  registry.db  registry.key.json
    gateway/   gateway.db   gateway.key.json
    sellers/<slug>/  seller.toml  seller.key.json  seller.db  catalog.json  twin.json  console-password
    buyer/     buyer.db     buyer.key.json  buyer.api-token
    coordinator/  pools.jsonl  admin-token
    logs/      <role>.log

The pool coordinator (``mercato pool serve``) needs no registry identity: it signs nothing, it looks
the signers of offers and commitments up in the registry, and what it publishes is checked by re-running
it. When the plan has two manufacturers (``sellers >= 8``, or ``shops`` naming two), their first start
also opens the seeded cross-manufacturer pool (:data:`seeds.CROSS_POOL_ID`) on both, cleared by it.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from mercato.keyfile import write_secret
from mercato.network import seeds
from mercato.network.plan import NetworkPlan, SellerNode
from mercato.network.processes import Child, StartError, mercato_argv, port_open, stop_all, wait_until
from mercato.pools.signed import rfc3339

REGISTRY_ID = "registry.mercato.local"
GATEWAY_ID = "gateway.mercato.local"
BUYER_ID = "buyer.mercato.local"
CONSOLE_USER = "merchant"  # each seed seller's merchant console user
START_TIMEOUT_S = 60.0
RETURN_DAYS = {"grocery": 2, "electronics": 7, "fashion": 10, "manufacturer": 10}


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


def ensure_console_user(node: SellerNode) -> Path:
    """Give the seller's merchant console a user on first start (:data:`CONSOLE_USER`, a random password
    kept 0600 in ``console-password`` next to the config; only its scrypt hash is in the config)."""
    path = node.console_password_file
    if not path.exists():
        password = secrets.token_urlsafe(12)
        run_cli(
            "seller", "set-password", "--config", str(node.config),
            "--user", CONSOLE_USER, "--password-stdin", stdin=password + "\n",
        )  # fmt: skip
        write_secret(path, (password + "\n").encode())
    return path


def run_cli(*args: str, attempts: int = 1, stdin: str | None = None) -> str:
    """Run a ``mercato`` command; retry when it says the failure was transient (HTTP 503)."""
    for attempt in range(1, attempts + 1):
        proc = subprocess.run(mercato_argv(*args), capture_output=True, text=True, check=False, input=stdin)
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


def coordinator_ready(plan: NetworkPlan) -> Callable[[], bool]:
    def ready() -> bool:
        return httpx.get(f"{plan.coordinator_url}/health", timeout=1).status_code == 200

    return ready


def subscribed(plan: NetworkPlan, subscriber_id: str) -> Callable[[], bool]:
    def ready() -> bool:
        r = httpx.post(f"{plan.registry_url}/lookup", json={"subscriber_id": subscriber_id}, timeout=1)
        return r.status_code == 200 and any(e.get("status") == "SUBSCRIBED" for e in r.json())

    return ready


def serving(child: Child, plan: NetworkPlan, subscriber_id: str) -> Callable[[], bool]:
    """Listening and subscribed: on a second start the registry already lists the node as subscribed
    before its process listens, so the port is checked too."""
    registered = subscribed(plan, subscriber_id)

    def ready() -> bool:
        return port_open(child.port, child.address) and registered()

    return ready


# --- the seeded cross-manufacturer pool -------------------------------------------------------------


def pool_offer_spec(offer: seeds.SeedPoolOffer, deadline: datetime) -> dict[str, Any]:
    """A seed pool offer as the body of ``PUT /admin/pools/{pool}/offers/{item}`` (docs/pools.md)."""
    return {
        "name": offer.name,
        "long_desc": offer.description,
        "tiers": [{"min_quantity": q, "unit_price": u} for q, u in offer.tiers],
        "moq": offer.moq,
        "capacity": offer.capacity,
        "production_start": rfc3339(deadline + timedelta(days=offer.production_days)),
        "delivery_start": rfc3339(deadline + timedelta(days=offer.delivery_days[0])),
        "delivery_end": rfc3339(deadline + timedelta(days=offer.delivery_days[1])),
    }


def open_cross_pool(plan: NetworkPlan, makers: list[tuple[int, SellerNode]]) -> list[str]:
    """Open :data:`seeds.CROSS_POOL_ID` on the given manufacturers (``(0 or 1, node)``: which of the
    two seeded offers it makes), with the plan's coordinator clearing it. Returns their subscriber ids."""
    deadline = seeds.cross_pool_deadline(datetime.now(UTC))
    opened = []
    for which, node in makers:
        offer = seeds.CROSS_POOL_OFFERS[which]
        headers = {"Authorization": f"Bearer {node.admin_token()}"}
        with httpx.Client(base_url=node.url, headers=headers, timeout=30) as admin:
            body = {
                "deadline": rfc3339(deadline),
                "capacity": seeds.CROSS_POOL_CAPACITY[which],
                "coordinator": plan.coordinator_url,
            }
            r = admin.put(f"/admin/pools/{seeds.CROSS_POOL_ID}", json=body)
            if r.status_code == 200:
                r = admin.put(
                    f"/admin/pools/{seeds.CROSS_POOL_ID}/offers/{offer.sku}",
                    json=pool_offer_spec(offer, deadline),
                )
            if r.status_code != 200:
                raise StartError(
                    f"{node.role}: opening the seeded pool {seeds.CROSS_POOL_ID} failed: "
                    f"HTTP {r.status_code} {r.text[:300]}"
                )
        opened.append(node.subscriber_id)
    return opened


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

    def start_coordinator(self) -> Child:
        """Start the pool coordinator (also again after it died: its log replays)."""
        p = self.plan
        for dead in [c for c in self.children if c.name == "coordinator" and not c.alive()]:
            dead.stop()  # closes its log file
            self.children.remove(dead)
        assert p.coordinator_port is not None
        return self._child(
            "coordinator",
            p.coordinator_port,
            "pool",
            "serve",
            "--registry",
            p.registry_url,
            "--data-dir",
            str(p.coordinator_dir),
            "--host",
            p.address("coordinator"),
            "--port",
            str(p.coordinator_port),
        )

    def child(self, name: str) -> Child:
        """The running process of a role (``registry``, ``coordinator``, ``seller-<slug>``, ...)."""
        for c in self.children:
            if c.name == name:
                return c
        raise KeyError(name)

    def start(self) -> None:
        p = self.plan
        d = p.data_dir
        for sub in ("registry", "gateway", "buyer", "coordinator", "logs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        reg = self._child(
            "registry",
            p.registry_port,
            "registry",
            "serve",
            "--db",
            p.db_url("registry", d / "registry" / "registry.db"),
            "--host",
            p.address("registry"),
            "--port",
            str(p.registry_port),
            "--key-file",
            str(d / "registry" / "registry.key.json"),
            "--registry-id",
            REGISTRY_ID,
        )
        wait_until(reg, registry_ready(p), START_TIMEOUT_S, "answer GET /keys")
        self.say(f"registry  {reg.url}")

        gw = self._child(
            "gateway",
            p.gateway_port,
            "gateway",
            "serve",
            "--db",
            p.db_url("gateway", d / "gateway" / "gateway.db"),
            "--host",
            p.address("gateway"),
            "--url",
            p.gateway_url,
            "--port",
            str(p.gateway_port),
            "--registry",
            p.registry_url,
            "--key-file",
            str(d / "gateway" / "gateway.key.json"),
            "--subscriber-id",
            GATEWAY_ID,
            "--domain",
            p.domain,
        )
        coord = self.start_coordinator()  # in parallel with the gateway's onboarding
        wait_until(gw, serving(gw, p, GATEWAY_ID), START_TIMEOUT_S, "subscribe with the registry")
        self.say(f"gateway   {gw.url}")
        wait_until(coord, coordinator_ready(p), START_TIMEOUT_S, "answer GET /health")
        token_file = p.coordinator_dir / "admin-token"
        self.say(f"pools     {coord.url}  (pool coordinator; clear-now token in {token_file})")

        fresh = {node.slug: prepare_seller(p, node) for node in p.seller_nodes}
        with ThreadPoolExecutor(max_workers=4) as pool:  # one CLI run each, on first start only
            made = list(pool.map(ensure_console_user, p.seller_nodes))
        consoles = {n.slug: path for n, path in zip(p.seller_nodes, made, strict=True)}
        sellers = [
            (
                node,
                self._child(node.role, node.port, "seller", "serve", "--config", str(node.config)),
            )
            for node in p.seller_nodes
        ]
        for node, child in sellers:
            wait_until(
                child, serving(child, p, node.subscriber_id), START_TIMEOUT_S, "subscribe with the registry"
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
            self.say(
                f"          console {child.url}/console  {CONSOLE_USER}, password in {consoles[node.slug]}"
            )
        makers = p.manufacturers()[:2]
        if len(makers) == 2 and any(fresh[n.slug] for n in makers):
            # the seeded cross-manufacturer pool, cleared by the coordinator (on first start only)
            opened = open_cross_pool(p, [(i, n) for i, n in enumerate(makers) if fresh[n.slug]])
            self.say(f"pool      {seeds.CROSS_POOL_ID} open at {', '.join(opened)} (coordinator {coord.url})")

        token = p.buyer_token() if p.buyer_token_file.exists() else secrets.token_urlsafe(24)
        write_secret(p.buyer_token_file, (token + "\n").encode(), replace=True)
        buyer = self._child(
            "buyer",
            p.buyer_port,
            "buyer",
            "serve",
            "--db",
            p.db_url("buyer", d / "buyer" / "buyer.db"),
            "--host",
            p.address("buyer"),
            "--public-url",
            p.buyer_url,
            "--port",
            str(p.buyer_port),
            "--registry",
            p.registry_url,
            "--gateway",
            p.gateway_url,
            "--key-file",
            str(d / "buyer" / "buyer.key.json"),
            "--subscriber-id",
            BUYER_ID,
            "--domain",
            p.domain,
            "--city",
            p.city,
            env={"MERCATO_BUYER_API_TOKEN": token},  # not on the command line, where `ps` shows it
        )
        wait_until(buyer, serving(buyer, p, BUYER_ID), START_TIMEOUT_S, "subscribe with the registry")
        self.say(
            f"buyer     {buyer.url}  storefront at /, local API under /api (token in {p.buyer_token_file})"
        )
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


__all__ = [
    "LocalNetwork",
    "NetworkPlan",
    "SellerNode",
    "coordinator_ready",
    "ensure_console_user",
    "native_catalog",
    "pool_offer_spec",
    "prepare_seller",
    "run_cli",
    "set_toml_values",
]

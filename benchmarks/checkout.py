"""Checkout benchmark: complete Beckn checkouts per second against one seller node process.

    mercato bench checkout [--json] [--db postgresql://...] [--only-db] [--workers W] [--checkouts N]
                           [--concurrency C] [--py-spy DIR]

A registry and one seller node (`mercato seller serve`, SQLite by default; with ``--db`` also a
PostgreSQL run, served by ``--workers W`` processes) run as their own processes. This process is the
load: a buyer app that subscribes through the registry, serves its callback receiver (signature
verified against the registry's keys), and runs C concurrent buyers, each doing checkouts one after
the other: signed ``select`` → wait for ``on_select`` → ``init`` → ``on_init`` → ``confirm`` →
``on_confirm``. A step's latency is from sending the request to receiving its callback. Every checkout
buys 1–3 units of one hot item whose stock is smaller than the demand, so the last buyers meet an
out-of-stock answer and the node's locking is on the hot path. ``oversold`` = units confirmed beyond
the stock (must be 0). The CPU time of the seller's processes and of this one is reported per checkout.

Progress goes to stderr; with ``--json`` exactly one JSON object goes to stdout, one entry per database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import free_port, machine, percentile, progress  # noqa: E402

CLI = [sys.executable, "-c", "from mercato.cli import main; main()"]
ITEM = "HOT"


def _wait(url: str, ok: Any, proc: subprocess.Popen[bytes], timeout: float = 60) -> Any:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before {url} was ready")
        try:
            r = httpx.get(url, timeout=2)
            if ok(r):
                return r
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


class Network:
    """Registry + seller node subprocesses in a temporary directory."""

    def __init__(self, tmp: Path, db: str | None, py_spy: Path | None, workers: int = 1) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        try:
            self._start(tmp, db, py_spy, workers)
        except BaseException:  # never leave a registry behind (py-spy missing, a node that fails ...)
            self.stop()
            raise

    def _start(self, tmp: Path, db: str | None, py_spy: Path | None, workers: int) -> None:
        from mercato.seller.config import write_starter

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        rport = free_port()
        self.registry_url = f"http://127.0.0.1:{rport}"
        reg = subprocess.Popen(
            [
                *CLI,
                "registry",
                "serve",
                "--db",
                f"sqlite:///{tmp / 'registry.db'}",
                "--port",
                str(rport),
                "--key-file",
                str(tmp / "registry.key.json"),
            ],
            stdout=(tmp / "registry.log").open("wb"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.procs.append(reg)
        _wait(self.registry_url + "/keys", lambda r: r.status_code == 200, reg)
        sport = free_port()
        cfg, _ = write_starter(
            tmp / "seller",
            subscriber_id="bench-seller.example",
            port=sport,
            registry_url=self.registry_url,
            database_url=db or "sqlite:///seller.db",
        )
        text = cfg.read_text().replace("delivery_charge = 4000", "delivery_charge = 0")
        cfg.write_text(text)
        self.token = tomllib.loads(text)["admin"]["token"]
        cmd = [*CLI, "seller", "serve", "--config", str(cfg)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        if py_spy is not None:
            spy = Path(sys.executable).with_name("py-spy")
            if not spy.exists():
                raise SystemExit(f"--py-spy: {spy} is not installed (pip install py-spy)")
            py_spy.mkdir(parents=True, exist_ok=True)
            out = py_spy / f"seller-{'postgresql' if db else 'sqlite'}.txt"
            cmd = [
                str(spy),
                "record",
                "--nonblocking",
                "-r",
                "200",
                "--format",
                "raw",
                *(["--subprocesses"] if workers > 1 else []),
                "-o",
                str(out),
                "--",
                *cmd,
            ]
        seller = subprocess.Popen(
            cmd, stdout=(tmp / "seller.log").open("wb"), stderr=subprocess.STDOUT, env=env
        )
        self.procs.append(seller)
        self.seller = seller
        self.seller_url = f"http://127.0.0.1:{sport}"
        self.seller_id = "bench-seller.example"
        self.workers = workers
        ready: set[int] = set()
        deadline = time.monotonic() + 60
        while len(ready) < workers:  # every worker subscribed (each new connection reaches one of them)
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(ready)} of {workers} seller workers ready")
            r = _wait(self.seller_url + "/health", lambda r: r.status_code == 200, seller)
            if r.json()["subscribed"]:
                ready.add(r.json()["pid"])

    def seller_cpu_s(self) -> float:
        """CPU seconds (user + system) the seller's process tree (py-spy, supervisor, workers) has used."""
        total, todo = 0, [self.seller.pid]
        try:
            while todo:
                pid = todo.pop()
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
                todo += [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return float("nan")
        return total / os.sysconf("SC_CLK_TCK")

    def delivery_counts(self) -> tuple[int, ...]:
        """Outbox claims, handed-off callbacks, store work run inline and in threads, group
        transactions and the steps they held, summed over the seller's worker processes."""
        import httpx

        seen: dict[int, tuple[int, ...]] = {}
        for _ in range(20 * self.workers):
            health = httpx.get(self.seller_url + "/health", timeout=10).json()
            d = health.get("delivery") or {"claims": 0, "handed": 0}
            w = health.get("store_work") or {}
            work = tuple(int(w.get(k, 0)) for k in ("inline", "threads", "groups", "grouped"))
            seen[health["pid"]] = (d["claims"], d["handed"], *work)
            if len(seen) == self.workers:
                break
        return tuple(sum(v[i] for v in seen.values()) for i in range(6))

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        r = httpx.request(
            method,
            self.seller_url + path,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
            **kw,
        )
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(2)  # SIGINT: lets py-spy write its profile
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)


class Buyer:
    """The load's buyer app: a signed client and a verifying callback receiver in this event loop."""

    def __init__(self, net: Network) -> None:
        from mercato.protocol.keys import KeyPair

        self.net = net
        self.keys = KeyPair.generate()
        self.id = f"bench-bap-{uuid.uuid4().hex[:6]}.example"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.waiting: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.callbacks = 0
        self.retries = 0

    async def start(self) -> None:
        import httpx
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        from mercato.protocol.actions import CALLBACK_ACTIONS
        from mercato.protocol.onboarding import Participation, answer_on_subscribe, build_subscribe_request
        from mercato.seller.node.sender import CallbackSender
        from mercato.transport.http import server_config
        from mercato.transport.lookup import LookupCache, RegistryKeySource
        from mercato.transport.server import BecknReceiver, Inbound

        async with httpx.AsyncClient() as http:
            info = (await http.get(self.net.registry_url + "/keys")).json()

        async def on_subscribe(request: Request) -> Response:
            return JSONResponse(answer_on_subscribe(await request.body(), self.keys, info["encr_public_key"]))

        async def on_callback(msg: Inbound) -> None:
            self.callbacks += 1
            ctx = msg.request.context
            fut = self.waiting.pop((msg.action, str(ctx.message_id)), None)
            if fut is not None and not fut.done():
                fut.set_result(orjson.loads(msg.body))

        source = RegistryKeySource(self.net.registry_url, registry_public_key=info["signing_public_key"])
        receiver = BecknReceiver(
            keys=LookupCache(source), handler=on_callback, actions=CALLBACK_ACTIONS, subscriber_id=self.id
        )
        app = receiver.in_front_of(Starlette(routes=[Route("/on_subscribe", on_subscribe, methods=["POST"])]))
        self.server = uvicorn.Server(server_config(app, "127.0.0.1", self.port, lifespan="off"))
        self.server_task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        req = build_subscribe_request(
            subscriber_id=self.id,
            unique_key_id="k1",
            keys=self.keys,
            subscriber_url=self.url,
            participations=[Participation("BAP", "ONDC:RET10", ["std:080"])],
        )
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(self.net.registry_url + "/subscribe", content=req.body, headers=req.headers)
            r.raise_for_status()
        # the lean HTTP/1.1 client the node sends its callbacks with (httpx costs more CPU per request
        # than the signature; this process shares the cores with the node it measures)
        self.client = CallbackSender(self.id, "k1", self.keys.signing, timeout_s=60, max_idle_per_host=256)

    async def stop(self) -> None:
        await self.client.aclose()
        self.server.should_exit = True
        await self.server_task

    async def step(self, action: str, txn: str, message: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """One request and its callback; a connection dropped by the server is retried (with a new
        message id: every action here is safe to repeat, confirm being idempotent)."""
        from mercato.transport.client import DeliveryError

        for attempt in range(3):
            try:
                return await self._step(action, txn, message)
            except DeliveryError:
                if attempt == 2:
                    raise
                self.retries += 1
        raise AssertionError("unreachable")

    async def _step(self, action: str, txn: str, message: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        from mercato.protocol.messages import format_timestamp

        mid = str(uuid.uuid4())
        ctx = {
            "domain": "ONDC:RET10",
            "location": {"country": {"code": "IND"}, "city": {"code": "std:080"}},
            "action": action,
            "version": "1.1.0",
            "bap_id": self.id,
            "bap_uri": self.url,
            "bpp_id": self.net.seller_id,
            "bpp_uri": self.net.seller_url,
            "transaction_id": txn,
            "message_id": mid,
            "timestamp": format_timestamp(),
            "ttl": "PT60S",
        }
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[(f"on_{action}", mid)] = fut
        t0 = time.perf_counter()
        try:
            answer = await self.client.send(
                self.net.seller_url, action, orjson.dumps({"context": ctx, "message": message})
            )
        except BaseException:
            self.waiting.pop((f"on_{action}", mid), None)
            raise
        if not answer.ack:
            self.waiting.pop((f"on_{action}", mid), None)
            raise RuntimeError(f"{action} NACKed: {answer.error_code} {answer.error_message}")
        body = await asyncio.wait_for(fut, 120)
        return (time.perf_counter() - t0) * 1000, body


async def load(net: Network, checkouts: int, concurrency: int, stock: int, seed: int) -> dict[str, Any]:
    buyer = Buyer(net)
    await buyer.start()
    rng = random.Random(seed)
    plan = [rng.randint(1, 3) for _ in range(checkouts)]
    lat: dict[str, list[float]] = {"select": [], "init": [], "confirm": [], "checkout": []}
    result = {"orders": 0, "units": 0, "out_of_stock": 0, "other_errors": 0}
    billing = {"name": "Bench Buyer", "phone": "9886012345", "email": "bench@example.org"}
    stop = {
        "type": "end",
        "location": {"gps": "12.975,77.6", "area_code": "560001", "city": {"code": "std:080"}},
    }
    queue = list(range(checkouts))
    done = 0
    next_report = time.monotonic() + 2

    async def worker() -> None:
        nonlocal done, next_report
        while queue:
            n = plan[queue.pop()]
            txn = str(uuid.uuid4())
            order = {
                "provider": {"id": "shop"},
                "items": [{"id": ITEM, "quantity": {"selected": {"count": n}}}],
                "fulfillments": [{"type": "Delivery", "stops": [stop]}],
            }
            t_sel, _ = await buyer.step("select", txn, {"order": order})
            full = {**order, "billing": billing, "payments": [{"type": "ON-ORDER"}]}
            t_init, _ = await buyer.step("init", txn, {"order": full})
            t_conf, answer = await buyer.step("confirm", txn, {"order": full})
            err = answer.get("error")
            if err is None:
                result["orders"] += 1
                result["units"] += n
                for k, v in (("select", t_sel), ("init", t_init), ("confirm", t_conf)):
                    lat[k].append(v)
                lat["checkout"].append(t_sel + t_init + t_conf)
            elif err["code"] == "40002":
                result["out_of_stock"] += 1
            else:
                result["other_errors"] += 1
            done += 1
            if time.monotonic() > next_report:
                progress(f"{done}/{checkouts} checkouts")
                next_report = time.monotonic() + 2

    t0 = time.perf_counter()
    cpu0, load0 = net.seller_cpu_s(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    cpu, load_cpu = net.seller_cpu_s() - cpu0, time.process_time() - load0
    callbacks, retries = buyer.callbacks, buyer.retries
    await buyer.stop()
    claims, handed, inline, threaded, groups, grouped = net.delivery_counts()
    levels = [s for s in net.admin("GET", "/admin/stock") if s["item_id"] == ITEM]
    on_hand = sum(s["on_hand"] for s in levels)
    reserved = sum(s["reserved"] for s in levels)
    out: dict[str, Any] = {
        "checkouts_per_s": round(result["orders"] / elapsed, 1),
        "flows_per_s": round(done / elapsed, 1),
        "seconds": round(elapsed, 2),
        "checkouts": result["orders"],
        "out_of_stock": result["out_of_stock"],
        "other_errors": result["other_errors"],
        "callbacks_received": callbacks,
        "retried_requests": retries,
        "concurrency": concurrency,
        "stock": stock,
        "units_sold": result["units"],
        "reserved_after": reserved,
        "oversold": max(0, result["units"] - stock) + max(0, reserved - on_hand),
        "seller_cpu_ms_per_checkout": round(cpu * 1000 / max(1, done), 2),
        "seller_cpu_share": round(cpu / elapsed, 2),
        "load_cpu_ms_per_checkout": round(load_cpu * 1000 / max(1, done), 2),
        "load_cpu_share": round(load_cpu / elapsed, 2),
        "seller_workers": net.workers,
        # outbox claims (including idle polls) and callbacks sent without a claim, over the whole run
        "outbox_claims_per_checkout": round(claims / max(1, done), 2),
        "callbacks_handed_off": round(handed / max(1, callbacks), 3),
        # store work (handler steps, claims, records) run on the event loop, of all (SQLite; see Store.run)
        "store_work_inline": round(inline / max(1, inline + threaded), 3),
        # protocol steps per group transaction (SQLite: the steps of one event-loop turn share one)
        "steps_per_group": round(grouped / max(1, groups), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    for k, v in lat.items():
        s = sorted(v)
        key = "" if k == "checkout" else f"{k}_"
        out[f"{key}p50_ms"] = round(percentile(s, 50), 1)
        out[f"{key}p99_ms"] = round(percentile(s, 99), 1)
    return out


def run_one(db: str | None, args: argparse.Namespace) -> dict[str, Any]:
    label = "postgresql" if db else "sqlite"
    with tempfile.TemporaryDirectory(prefix="mercato-bench-checkout-") as d:
        tmp = Path(d)
        schema = None
        if db:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            db = f"{db}{'&' if '?' in db else '?'}schema={schema}"
        progress(f"{label}: starting registry and seller node")
        net = Network(tmp, db, Path(args.py_spy) if args.py_spy else None, args.workers)
        try:
            stock = int(args.checkouts * 2 * 0.9)  # ~2 units per checkout: the last ~10% find it sold out
            net.admin(
                "PUT",
                f"/admin/items/{ITEM}",
                json={"provider_id": "shop", "name": "Hot sauce", "price": 25_000, "max_quantity": 10},
            )
            net.admin("POST", f"/admin/stock/{ITEM}/shop-main", json={"delta": stock, "reason": "received"})
            progress(f"{label}: {args.checkouts} checkouts, {args.concurrency} concurrent buyers")
            out = asyncio.run(load(net, args.checkouts, args.concurrency, stock, args.seed))
        except BaseException:
            progress(
                "seller log (last lines):\n" + "\n".join((tmp / "seller.log").read_text().splitlines()[-20:])
            )
            raise
        finally:
            net.stop()
            if db and schema:
                from sqlalchemy import create_engine, text

                from mercato.db import normalise_url

                base = args.db
                engine = create_engine(normalise_url(base.split("?")[0]))
                with engine.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                engine.dispose()
    progress(
        f"{label}: {out['checkouts_per_s']} checkouts/s, p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, "
        f"oversold {out['oversold']}"
    )
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="mercato bench checkout", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument(
        "--db", default=None, help="also run on this PostgreSQL URL (a fresh schema, dropped after)"
    )
    p.add_argument("--checkouts", type=int, default=1500, help="checkouts to attempt per database (1500)")
    p.add_argument("--concurrency", type=int, default=48, help="concurrent buyers (48)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--py-spy", default=None, help="record a py-spy flame graph of the seller node into DIR")
    p.add_argument("--only-db", action="store_true", help="with --db: skip the SQLite run")
    p.add_argument(
        "--workers", type=int, default=1, help="seller worker processes for the PostgreSQL run (1)"
    )
    args = p.parse_args(argv)
    if args.checkouts < 1 or args.concurrency < 1 or args.workers < 1:
        p.error("--checkouts, --concurrency and --workers must be at least 1")
    out: dict[str, Any] = {}
    if not (args.only_db and args.db):
        out["sqlite"] = run_one(None, args)
    if args.db:
        out["postgresql"] = run_one(args.db, args)
    out["machine"] = machine()
    out["goal"] = {"checkouts_per_s": 200, "oversold": 0}
    if args.json:
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
    else:
        print(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Promise-date benchmark: what the supply twin adds to a quote, in process (no HTTP).

    mercato bench promise [--json] [--calls N] [--open 0,50,200]

A seller store on SQLite (a temporary file) holds the seed manufacturer's catalog (Peenya Steelworks,
five items) and its twin (one press line, steel-sheet BOM). Timed, per call:

* ``no_twin_us``: the twin step of a select on a node without a twin (``quote_promise``: a cached
  lookup; the simple rule applies) — what every node pays;
* ``atp_us`` / ``ctp_us`` per number of open production orders: the twin step of a select that is
  answered from stock (ATP) / from the press line (CTP), reading stock, open production orders and
  component reservations and planning in Python;
* ``pure_ctp_ms``: ``Plan.promise`` alone for the CTP basket (no database).

Progress goes to stderr; with ``--json`` exactly one JSON object goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import machine, progress  # noqa: E402


def _setup(tmp: Path) -> tuple[Any, Any, Any]:
    from mercato.network import seeds
    from mercato.network.local import native_catalog
    from mercato.seller.domain import Address, Descriptor, GeoPoint, Location, Provider
    from mercato.seller.handlers.env import Env
    from mercato.seller.handlers.reply import Identity
    from mercato.seller.importers import import_file
    from mercato.seller.store import catalog, open_store

    shop = seeds.MANUFACTURER
    doc = seeds.catalog_document(shop)
    store = open_store(f"sqlite:///{tmp / 'seller.db'}")
    now = datetime.now(UTC)
    pid, loc = doc["provider"]["id"], doc["location"]["id"]
    catalog.put_provider(store, Provider(pid, Descriptor(shop.name)), now)
    catalog.put_location(store, Location(loc, pid, Address(shop.street, seeds.CITY, "560058"),
                                         GeoPoint.parse(shop.gps), frozenset({seeds.CITY})), now)  # fmt: skip
    (tmp / "catalog.json").write_text(json.dumps(native_catalog(shop)))
    import_file(store, tmp / "catalog.json", provider_id=pid, location_id=loc)
    env = Env(store, Identity("bench.example", "http://127.0.0.1:9"))
    return store, env, (pid, loc)


def _time(fn: Any, calls: int) -> float:
    fn()  # warm
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mercato bench promise")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--open", default="0,50,200", help="numbers of open production orders to time with")
    args = ap.parse_args(argv)

    from mercato.network import seeds
    from mercato.seller.domain import LineRequest
    from mercato.seller.handlers.discovery import estimate
    from mercato.seller.handlers.supply import quote_promise
    from mercato.seller.store import checkout
    from mercato.seller.store import supply as store_supply
    from mercato.seller.store.checkout import Basket

    out: dict[str, Any] = {"machine": machine(), "calls": args.calls}
    with tempfile.TemporaryDirectory() as d:
        store, env, (pid, loc) = _setup(Path(d))
        now = datetime.now(UTC)

        def twin_step(item: str, qty: int) -> Any:
            basket = Basket(pid, [LineRequest(item, qty)], city=seeds.CITY)
            q, cat = checkout.quote_with_catalog(store, basket)
            return lambda: quote_promise(env, q, basket, now, lambda qq: estimate(cat, qq, basket, now))

        progress("no twin")
        out["no_twin_us"] = round(_time(twin_step("bottle-1l", 2), args.calls) * 1e6, 1)
        store_supply.put_twin(store, seeds.twin_document(seeds.MANUFACTURER), now)
        rows = []
        made = 0
        for n in [int(x) for x in args.open.split(",")]:
            while made < n:
                due = now.date() + timedelta(days=3 + made % 60)
                store_supply.create_production_order(store, f"bench-{made}", "plate-set-6", 5, due, now)
                made += 1
            progress(f"{n} open production orders")
            atp = _time(twin_step("bottle-1l", 2), args.calls)
            ctp_step = twin_step("bottle-1l", 900)  # beyond the 800 in stock
            ctp = _time(ctp_step, max(10, args.calls // 10))
            twin = store_supply.twin_of(store)
            assert twin is not None
            with store.read() as s:
                plan = store_supply.plan_in(s, twin, now.date())
            pure = _time(
                lambda p=plan: p.promise([("bottle-1l", 900)], seeds.CITY), max(10, args.calls // 10)
            )
            rows.append({"open_orders": n, "atp_us": round(atp * 1e6, 1), "ctp_us": round(ctp * 1e6, 1),
                         "pure_ctp_ms": round(pure * 1e3, 3)})  # fmt: skip
        out["with_twin"] = rows
        store.engine.dispose()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"twin step without a twin: {out['no_twin_us']} µs per select")
        for r in rows:
            print(f"{r['open_orders']:>4} open production orders: ATP {r['atp_us']} µs, CTP {r['ctp_us']} µs "
                  f"(pure planning {r['pure_ctp_ms']} ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

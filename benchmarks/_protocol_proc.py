"""The two processes of the protocol benchmark (run by benchmarks/protocol.py, not by hand).

``server``: one uvicorn process (uvloop + httptools) serving a BecknReceiver for ``search``; the
lookup cache is pre-warmed with the load process's key, so the registry is not measured. The
handler only queues the verified request (what a real handler does before returning).

``load``: pre-signs N distinct ``search`` requests, then sends them over C keep-alive HTTP/1.1
connections (raw asyncio streams, or httpx with ``--client httpx``) and prints one JSON object with
the elapsed time, the ACK count and every latency. Its signing key comes from the environment
variable MERCATO_BENCH_SIGNING_KEY (a throwaway key made by the benchmark), never from argv.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson


def search_body(bap_id: str, message_id: str | None = None, ttl: str = "PT5M") -> bytes:
    """A realistic ~1 KB Beckn 1.1 retail search."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = {
        "context": {
            "domain": "retail:1.1.0",
            "location": {"country": {"code": "IND"}, "city": {"code": "std:080"}},
            "action": "search",
            "version": "1.1.0",
            "bap_id": bap_id,
            "bap_uri": f"https://{bap_id}/beckn",
            "transaction_id": str(uuid.uuid4()),
            "message_id": message_id or str(uuid.uuid4()),
            "timestamp": now,
            "ttl": ttl,
        },
        "message": {
            "intent": {
                "category": {"descriptor": {"code": "electronics", "name": "Electronics"}},
                "item": {
                    "descriptor": {"name": "wireless earphones", "short_desc": "noise cancelling, in-ear"},
                    "tags": [
                        {
                            "descriptor": {"code": "attributes"},
                            "list": [
                                {"descriptor": {"code": "colour"}, "value": "black"},
                                {"descriptor": {"code": "brand"}, "value": "any"},
                                {"descriptor": {"code": "max_price"}, "value": "2500.00"},
                            ],
                        }
                    ],
                },
                "provider": {"descriptor": {"name": "any"}, "locations": [{"id": "L1"}]},
                "fulfillment": {
                    "type": "Delivery",
                    "stops": [
                        {"type": "end", "location": {"gps": "12.9715987,77.5945627", "area_code": "560001"}}
                    ],
                },
                "payment": {"type": "ON-FULFILLMENT", "collected_by": "BPP"},
                "tags": [
                    {
                        "descriptor": {"code": "buyer_finder_fee"},
                        "list": [
                            {"descriptor": {"code": "type"}, "value": "percent-annualized"},
                            {"descriptor": {"code": "value"}, "value": "3.0"},
                        ],
                    }
                ],
            }
        },
    }
    return orjson.dumps(body)


# --- server ------------------------------------------------------------------------------------


def run_server(args: argparse.Namespace) -> int:
    import uvicorn
    from starlette.applications import Starlette

    from mercato.transport.http import server_config, tune_gc
    from mercato.transport.lookup import LookupCache, StaticKeySource, SubscriberKey
    from mercato.transport.server import BecknReceiver, Inbound

    key = SubscriberKey(args.subscriber_id, args.ukid, args.public_key, type="BAP")
    cache = LookupCache(StaticKeySource([key]))
    cache.prime(key)
    queue: collections.deque[Inbound] = collections.deque(maxlen=1024)

    async def handler(inbound: Inbound) -> None:
        queue.append(inbound)

    receiver = BecknReceiver(keys=cache, handler=handler, actions=["search"], subscriber_id="bench-bpp")
    if args.mount == "bare":
        app: Any = receiver
    elif args.mount == "route":
        app = Starlette(routes=[receiver.route()])
    else:  # the receiver in front of a Starlette app that serves the role's other routes
        app = receiver.in_front_of(Starlette())
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    if args.plain_uvicorn:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=args.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    else:
        config = server_config(app, host="127.0.0.1", port=args.port, lifespan="off")
    server = uvicorn.Server(config)

    def stop_when_stdin_closes() -> None:  # the parent closes our stdin to stop us gracefully
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    if not args.no_gc_tuning:
        tune_gc()
    server.run()
    if args.profile:
        profiler.stop()
        with open(args.profile, "w", encoding="utf-8") as f:
            f.write(profiler.output_text(unicode=False, color=False))
    print(
        orjson.dumps({"acked": receiver.stats.acked, "rejected": receiver.stats.rejected}).decode(),
        file=sys.stderr,
    )
    return 0


# --- load --------------------------------------------------------------------------------------


def presign(args: argparse.Namespace) -> list[bytes]:
    from mercato.protocol.keys import load_signing_private_key
    from mercato.protocol.signing import digest_header, sign

    key = load_signing_private_key(os.environ["MERCATO_BENCH_SIGNING_KEY"])
    out = []
    for _ in range(args.requests):
        body = search_body(args.subscriber_id)
        auth = sign(body, key, args.subscriber_id, args.ukid, validity_s=600)
        head = (
            f"POST /search HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
            f"Content-Type: application/json\r\nAuthorization: {auth}\r\n"
            f"Digest: {digest_header(body)}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode("latin-1") + body)
    return out


async def load_raw(args: argparse.Namespace, requests: list[bytes]) -> dict[str, Any]:
    latencies: list[float] = []
    acked = 0
    statuses: collections.Counter[int] = collections.Counter()
    it = iter(requests)

    async def worker() -> None:
        nonlocal acked
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        try:
            for raw in it:
                t0 = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                status = int(head[9:12])
                statuses[status] += 1
                if status == 200 and b'"ACK"' in body:
                    acked += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - t0
    return {
        "elapsed_s": elapsed,
        "acked": acked,
        "latencies": latencies,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


async def load_httpx(args: argparse.Namespace, requests: list[bytes]) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    acked = 0
    statuses: collections.Counter[int] = collections.Counter()
    prepared = []
    for raw in requests:
        head, body = raw.split(b"\r\n\r\n", 1)
        hdrs = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:])
        hdrs.pop("Host", None)
        hdrs.pop("Content-Length", None)
        prepared.append((hdrs, body))
    it = iter(prepared)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{args.port}", limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal acked
            for hdrs, body in it:
                t0 = time.perf_counter()
                resp = await client.post("/search", content=body, headers=hdrs)
                latencies.append(time.perf_counter() - t0)
                statuses[resp.status_code] += 1
                if resp.status_code == 200 and b'"ACK"' in resp.content:
                    acked += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "elapsed_s": elapsed,
        "acked": acked,
        "latencies": latencies,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (Linux /proc), or None."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    requests = presign(args)
    presign_s = time.perf_counter() - t0
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    if args.warmup:
        warm = argparse.Namespace(**{**vars(args), "concurrency": min(8, args.concurrency)})
        runner(load_raw(warm, requests[: args.warmup]))
        requests = requests[args.warmup :]
    cpu0 = process_cpu_s(args.server_pid)
    own0 = time.process_time()
    result = runner(load_raw(args, requests) if args.client == "raw" else load_httpx(args, requests))
    cpu1 = process_cpu_s(args.server_pid)
    result["load_cpu_s"] = time.process_time() - own0
    result["server_cpu_s"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    result["presign_s"] = presign_s
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="_protocol_proc")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--subscriber-id", required=True)
    s.add_argument("--ukid", required=True)
    s.add_argument("--public-key", required=True)
    s.add_argument("--mount", choices=["front", "route", "bare"], default="front")
    s.add_argument("--plain-uvicorn", action="store_true", help="uvicorn's own httptools protocol")
    s.add_argument("--no-gc-tuning", action="store_true", help="leave CPython's collector as it is")
    s.add_argument("--profile", default=None, help="write a pyinstrument profile to this file")
    ld = sub.add_parser("load")
    ld.add_argument("--port", type=int, required=True)
    ld.add_argument("--subscriber-id", required=True)
    ld.add_argument("--ukid", required=True)
    ld.add_argument("--requests", type=int, default=10_000)
    ld.add_argument("--concurrency", type=int, default=64)
    ld.add_argument("--warmup", type=int, default=0)
    ld.add_argument("--client", choices=["raw", "httpx"], default="raw")
    ld.add_argument("--server-pid", type=int, default=None, help="measure this process's CPU time")
    args = p.parse_args(argv)
    return run_server(args) if args.cmd == "server" else run_load(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

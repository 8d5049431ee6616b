"""Protocol benchmark: Beckn signing and verifying on one core, and signed requests ACKed per second.

    mercato bench protocol [--json] [--requests N] [--concurrency C] [--client raw|httpx]

1. ``sign_per_s`` / ``verify_per_s``: ``mercato.protocol.signing.sign`` and ``verify`` (header
   parsing, BLAKE2b-512 digest, Ed25519) of a ~1 KB retail ``search`` body, in this process (one core).
2. ``acked_per_s``, ``p50_ms``, ``p99_ms``: one server process (uvicorn + uvloop + httptools, the
   BecknReceiver in front of a Starlette app, lookup cache pre-warmed so the registry is not
   measured) verifies, parses and ACKs N distinct pre-signed ``search`` requests sent by a load
   process over C keep-alive connections on loopback. The load process signs every request before
   the clock starts, so its own signing cost does not limit the figure.

Progress goes to stderr; with ``--json`` exactly one JSON object goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _protocol_proc import search_body  # noqa: E402
from _util import free_port, machine, percentile, progress, rate, wait_port  # noqa: E402

SUBSCRIBER = "bench-bap.example"
UKID = "bench-k1"


def crypto_rates(seconds: float) -> dict[str, object]:
    from mercato.protocol.keys import KeyPair
    from mercato.protocol.signing import sign, verify

    keys = KeyPair.generate()
    pub = keys.signing_public_key
    body = search_body(SUBSCRIBER)
    progress(f"signing a {len(body)}-byte search body for {seconds:g}s")
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    header = ""
    while True:
        for _ in range(200):
            header = sign(body, keys.signing, SUBSCRIBER, UKID)
        n += 200
        if time.perf_counter() >= deadline:
            break
    sign_s = rate(n, time.perf_counter() - t0)
    progress(f"verifying for {seconds:g}s")
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(200):
            verify(header, body, pub)
        n += 200
        if time.perf_counter() >= deadline:
            break
    verify_s = rate(n, time.perf_counter() - t0)
    out = {"sign_per_s": round(sign_s), "verify_per_s": round(verify_s), "body_bytes": len(body)}
    # the floor: the Ed25519 primitive alone on the signing string (no parsing, no digest), as used
    # (ed25519-zebra) and, for comparison, libsodium's
    import base64

    from nacl.bindings import crypto_sign_open

    from mercato.protocol.keys import ed25519_verify
    from mercato.protocol.signing import digest, parse_header, signing_string

    h = parse_header(header)
    sig = base64.b64decode(h.signature)
    msg = signing_string(h.created, h.expires, digest(body)).encode()
    pk = base64.b64decode(pub)

    def primitive_rate(fn: Callable[[], object]) -> int:
        n = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds / 2
        while time.perf_counter() < deadline:
            for _ in range(200):
                fn()
            n += 200
        return round(rate(n, time.perf_counter() - t0))

    out["ed25519_verify_only_per_s"] = primitive_rate(lambda: ed25519_verify(pub, sig, msg))
    out["libsodium_verify_only_per_s"] = primitive_rate(lambda: crypto_sign_open(sig + msg, pk))
    return out


def served_rates(
    requests: int,
    concurrency: int,
    client: str,
    mount: str,
    profile: str | None,
    server_flags: list[str],
) -> dict[str, object]:
    from mercato.protocol.keys import KeyPair

    keys = KeyPair.generate()
    port = free_port()
    py = sys.executable
    proc_script = str(HERE / "_protocol_proc.py")
    server_cmd = [
        py,
        proc_script,
        "server",
        "--port",
        str(port),
        "--subscriber-id",
        SUBSCRIBER,
        "--ukid",
        UKID,
        "--public-key",
        keys.signing_public_key,
    ]
    server_cmd += ["--mount", mount]
    server_cmd += server_flags
    if profile:
        server_cmd += ["--profile", profile]
    progress(f"starting the server on 127.0.0.1:{port}")
    server = subprocess.Popen(
        server_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_port(port)
        env = {**os.environ, "MERCATO_BENCH_SIGNING_KEY": keys.to_dict()["signing_private_key"]}
        warmup = min(1000, max(requests // 10, 0))
        load_cmd = [
            py,
            proc_script,
            "load",
            "--port",
            str(port),
            "--subscriber-id",
            SUBSCRIBER,
            "--ukid",
            UKID,
            "--requests",
            str(requests + warmup),
            "--warmup",
            str(warmup),
            "--concurrency",
            str(concurrency),
            "--client",
            client,
            "--server-pid",
            str(server.pid),
        ]
        progress(
            f"load process: pre-signing {requests + warmup} requests, then sending {requests} "
            f"(after {warmup} warm-up) over {concurrency} connections ({client} client)"
        )
        out = subprocess.run(load_cmd, env=env, capture_output=True, check=False, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"load process failed: {out.stderr.decode(errors='replace')[-2000:]}")
        result = orjson.loads(out.stdout)
    finally:
        try:
            _, err = server.communicate(input=b"", timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    server_log = err.decode(errors="replace").strip().splitlines()
    lat = sorted(result["latencies"])
    acked = int(result["acked"])
    elapsed = float(result["elapsed_s"])
    cpu_s = result.get("server_cpu_s")
    return {
        "n": len(lat),
        "acked": acked,
        "statuses": result["statuses"],
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "acked_per_s": round(rate(acked, elapsed)),
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 3),
        "load_cpu_s": round(float(result["load_cpu_s"]), 3),
        # ACKs per CPU-second of the server process: its capacity on one fully available core,
        # less sensitive than acked_per_s to the load process and other work sharing the machine
        "acked_per_server_cpu_s": round(rate(acked, cpu_s)) if cpu_s else None,
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 2) if lat else None,
        "presign_s": round(float(result["presign_s"]), 2),
        "client": "raw asyncio HTTP/1.1 keep-alive" if client == "raw" else "httpx.AsyncClient keep-alive",
        "server": "1 uvicorn process, uvloop + httptools"
        + (
            " (uvicorn's own protocol)"
            if "--plain-uvicorn" in server_flags
            else " (write-coalescing protocol)"
        )
        + {
            "front": ", BecknReceiver.in_front_of(a Starlette app)",
            "route": ", BecknReceiver as a Starlette route",
            "bare": ", BecknReceiver as the whole ASGI app",
        }[mount]
        + (", default gc" if "--no-gc-tuning" in server_flags else ", gc tuned")
        + ", lookup cache pre-warmed, handler queues the request",
        "server_stats": server_log[-1] if server_log else None,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="mercato bench protocol", description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--requests", type=int, default=10_000, help="signed search requests to send (10000)")
    p.add_argument("--concurrency", type=int, default=64, help="keep-alive connections (64)")
    p.add_argument("--client", choices=["raw", "httpx"], default="raw", help="load client (raw asyncio)")
    p.add_argument("--crypto-seconds", type=float, default=2.0, help="time spent on each of sign/verify")
    p.add_argument(
        "--mount",
        choices=["front", "route", "bare"],
        default="front",
        help="receiver in front of a Starlette app (default), as a Starlette route, or alone",
    )
    p.add_argument("--plain-uvicorn", action="store_true", help="uvicorn's own httptools protocol")
    p.add_argument("--no-gc-tuning", action="store_true", help="leave the server's garbage collector as is")
    p.add_argument("--profile", default=None, help="write a pyinstrument profile of the server to FILE")
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        p.error("--requests and --concurrency must be at least 1")
    out: dict[str, object] = {}
    out.update(crypto_rates(args.crypto_seconds))
    flags = ["--plain-uvicorn"] if args.plain_uvicorn else []
    flags += ["--no-gc-tuning"] if args.no_gc_tuning else []
    out.update(served_rates(args.requests, args.concurrency, args.client, args.mount, args.profile, flags))
    out["machine"] = machine()
    out["goals"] = {"verify_per_s": 15_000, "acked_per_s": 3_000}
    if args.json:
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
    else:
        for k, v in out.items():
            print(f"{k:>16}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A process of lightweight fake sellers for ``mercato bench search``: each seller is a
BecknReceiver that ACKs a search forwarded by a gateway and at once sends an ``on_search`` with a
small catalog to the gateway. The process onboards its sellers through the registry's real
/subscribe flow, then prints READY.

    python _search_seller.py --registry URL --port P --names s1,s2 --domain D --city C --items N
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from mercato.protocol.keys import KeyPair
from mercato.protocol.messages import make_context
from mercato.protocol.onboarding import Participation, answer_on_subscribe, build_subscribe_request
from mercato.transport.client import BecknClient
from mercato.transport.http import server_config
from mercato.transport.lookup import LookupCache, RegistryKeySource
from mercato.transport.server import BecknReceiver, Inbound


async def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--registry", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--names", required=True)
    p.add_argument("--domain", default="ONDC:RET10")
    p.add_argument("--city", default="std:080")
    p.add_argument("--items", type=int, default=10)
    a = p.parse_args(argv)
    base = f"http://127.0.0.1:{a.port}"
    keysource = await RegistryKeySource.discover(a.registry)
    async with httpx.AsyncClient() as http:
        reg_keys = (await http.get(a.registry + "/keys")).json()
    lookup = LookupCache(keysource)
    sellers: dict[str, tuple[KeyPair, BecknClient]] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def on_subscribe(request: Request) -> Response:
        keys = sellers[request.path_params["name"]][0]
        return JSONResponse(answer_on_subscribe(await request.body(), keys, reg_keys["encr_public_key"]))

    def make_handler(name: str) -> object:
        sid = f"{name}.bench"
        url = f"{base}/{name}"
        items = [
            {
                "id": f"{name}-{i}",
                "descriptor": {"name": f"rice {i}"},
                "price": {"currency": "INR", "value": "10.00"},
            }
            for i in range(a.items)
        ]

        async def answer(inbound: Inbound) -> None:
            assert inbound.gateway is not None and inbound.gateway.subscriber_url
            ctx = make_context(reply_to=inbound.request.context, bpp_id=sid, bpp_uri=url)
            body = orjson.dumps(
                {
                    "context": ctx.model_dump(by_alias=True, exclude_none=True),
                    "message": {"catalog": {"providers": [{"id": name, "items": items}]}},
                }
            )
            await sellers[name][1].send(inbound.gateway.subscriber_url, "on_search", body)

        async def handle(inbound: Inbound) -> None:
            if inbound.gateway is not None:
                t = asyncio.ensure_future(answer(inbound))
                tasks.add(t)
                t.add_done_callback(tasks.discard)

        return handle

    routes: list[object] = [Route("/{name}/on_subscribe", on_subscribe, methods=["POST"])]
    names = a.names.split(",")
    for name in names:
        keys = KeyPair.generate()
        sellers[name] = (keys, BecknClient(f"{name}.bench", "k1", keys.signing))
        recv = BecknReceiver(keys=lookup, handler=make_handler(name), actions=("search",), subscriber_id=name)  # type: ignore[arg-type]
        routes.append(Mount(f"/{name}", recv))
    server = uvicorn.Server(server_config(Starlette(routes=routes), "127.0.0.1", a.port))  # type: ignore[arg-type]
    serving = asyncio.ensure_future(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(timeout=30) as http:
        for name in names:
            req = build_subscribe_request(
                subscriber_id=f"{name}.bench",
                unique_key_id="k1",
                keys=sellers[name][0],
                subscriber_url=f"{base}/{name}",
                participations=[Participation("BPP", a.domain, [a.city])],
            )
            resp = await http.post(a.registry + "/subscribe", content=req.body, headers=req.headers)
            if resp.status_code != 200:
                print(f"FAILED {name}: {resp.status_code} {resp.text[:200]}", flush=True)
                sys.exit(1)
    print("READY", flush=True)
    await serving


if __name__ == "__main__":
    import uvloop

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        pass

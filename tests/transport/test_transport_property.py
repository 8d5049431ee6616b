"""Random bytes and random JSON, signed or not, never make the receiver answer with a 5xx."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mercato.protocol.actions import ALL_ACTIONS
from mercato.transport.lookup import LookupCache, StaticKeySource
from mercato.transport.replay import MemoryReplayGuard
from mercato.transport.server import BecknReceiver, Inbound
from tests.transport.transport_helpers import Party, message

BAP = Party("buyer.example", "BAP")
BPP = Party("seller.example", "BPP")
RECEIVED: list[Inbound] = []


async def _record(inbound: Inbound) -> None:
    RECEIVED.append(inbound)


RECEIVER = BecknReceiver(
    keys=LookupCache(StaticKeySource([BAP.key(), BPP.key()])),
    handler=_record,
    replay_guard=MemoryReplayGuard(),
    max_body_bytes=64 * 1024,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)
context_fields = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from([*ALL_ACTIONS, "nope", ""]) | json_values,
        "version": st.sampled_from(["1.1.0", "1.0.0"]) | json_values,
        "bap_id": st.sampled_from(["buyer.example", "x"]) | json_values,
        "bpp_id": st.sampled_from(["seller.example"]) | json_values,
        "message_id": st.uuids().map(str) | json_values,
        "timestamp": st.sampled_from(["2020-01-01T00:00:00Z", "now", "9999-12-31T23:59:59Z"]) | json_values,
        "ttl": st.sampled_from(["PT30S", "P1D", "PT", "-PT1S", "P99999999999D"]) | json_values,
        "location": json_values,
    },
)


header_noise = st.binary(max_size=200).map(lambda b: b.replace(b"\r", b" ").replace(b"\n", b" "))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str | bytes]]:
    """(path, body, headers): from pure noise to a valid message signed by the right party with one
    part of its context, message or signature broken, so that every check is reached."""
    action = draw(st.sampled_from(ALL_ACTIONS))
    kind = draw(st.sampled_from(["bytes", "json", "message", "message"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=512))
    elif kind == "json":
        raw = orjson.dumps(draw(json_values))
    else:
        data: dict[str, Any] = message(action, bpp_id=None if action == "search" else "seller.example")
        if draw(st.booleans()):
            data["context"].update(draw(context_fields))
        if draw(st.integers(0, 4)) == 0:
            data["message"] = draw(json_values)
        raw = orjson.dumps(data)
    path = action if draw(st.integers(0, 3)) else draw(st.sampled_from(["x", "", "on_", *ALL_ACTIONS]))
    right = BPP if action.startswith("on_") else BAP
    signer = draw(st.sampled_from(["right", "right", "wrong", "none", "garbage", "tampered"]))
    noise = draw(header_noise)
    headers: dict[str, str | bytes] = {}
    if signer == "garbage":
        headers["Authorization"] = noise
    elif signer == "tampered":  # a real header with a piece replaced by noise
        good = right.sign(raw).encode()
        cut = draw(st.integers(0, len(good)))
        headers["Authorization"] = good[:cut] + noise + good[cut + len(noise) :]
    elif signer in ("right", "wrong"):
        party = right if signer == "right" else (BAP if right is BPP else BPP)
        headers.update(party.headers(raw, digest=draw(st.booleans())))
    if draw(st.integers(0, 5)) == 0:
        headers["Digest"] = noise
    return path, raw, headers


async def _post(path: str, raw: bytes, headers: dict[str, str | bytes]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=RECEIVER), base_url="http://s") as c:
        return await c.post("/" + path, content=raw, headers=headers)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_no_input_makes_a_5xx(case: tuple[str, bytes, dict[str, str | bytes]]) -> None:
    path, raw, headers = case
    RECEIVED.clear()
    resp = asyncio.run(_post(path, raw, headers))
    assert resp.status_code < 500, resp.text
    event(f"HTTP {resp.status_code}")
    data = orjson.loads(resp.content)
    status = data["message"]["ack"]["status"]
    if resp.status_code == 200:
        assert status == "ACK" and len(RECEIVED) == 1 and RECEIVED[0].body == raw
    else:
        assert status == "NACK" and data["error"]["code"] and data["error"]["message"]
        assert RECEIVED == []

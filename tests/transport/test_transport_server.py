"""The verifying receiver: ACK for a good request, and a precise refusal for every bad input."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
import pytest

from mercato.protocol.actions import ALL_ACTIONS, CALLBACK_ACTIONS, SELLER_ACTIONS
from mercato.protocol.signing import digest_header
from mercato.transport.server import BecknReceiver
from tests.transport.conftest import Net
from tests.transport.transport_helpers import Party, ago, body, message

SIGNATURE_CODE = "10001"
STALE_CODE = "20002"


def nack(resp: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(resp.content)
    assert data["message"]["ack"]["status"] == "NACK"
    assert data["error"]["code"] and data["error"]["message"]
    return dict(data["error"])


def assert_untouched(net: Net) -> None:
    assert net.received == []
    assert len(net.guard) == 0


async def post(c: httpx.AsyncClient, action: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    return await c.post(f"/{action}", content=raw, headers=headers)


# --- the good paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ALL_ACTIONS)
async def test_every_action_signed_by_the_right_party_is_acked(
    net: Net, asgi: httpx.AsyncClient, action: str
) -> None:
    sender = net.bpp if action in CALLBACK_ACTIONS else net.bap
    raw = body(action, bpp_id=None if action == "search" else "seller.example")
    resp = await post(asgi, action, raw, sender.headers(raw))
    assert resp.status_code == 200, resp.text
    assert orjson.loads(resp.content) == {"message": {"ack": {"status": "ACK"}}}
    (inbound,) = net.received
    assert inbound.action == action
    assert inbound.body == raw  # the exact bytes, not a re-serialisation
    assert inbound.sender.subscriber_id == sender.subscriber_id
    assert inbound.request.context.action == action
    assert inbound.gateway is None


async def test_signature_without_digest_header_is_accepted(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    resp = await post(asgi, "search", raw, net.bap.headers(raw, digest=False))
    assert resp.status_code == 200


async def test_search_forwarded_by_a_gateway_is_verified_twice(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    headers = net.bap.headers(raw) | {"X-Gateway-Authorization": net.bg.sign(raw)}
    resp = await post(asgi, "search", raw, headers)
    assert resp.status_code == 200
    assert net.received[0].gateway is not None
    assert net.received[0].gateway.subscriber_id == "gateway.example"


async def test_legacy_proxy_authorization_is_verified(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    resp = await post(asgi, "search", raw, net.bap.headers(raw) | {"Proxy-Authorization": net.bg.sign(raw)})
    assert resp.status_code == 200
    assert net.received[0].gateway is not None


async def test_mounted_under_a_prefix_in_a_fastapi_app(net: Net) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.mount("/beckn", net.receiver())
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await c.post("/beckn/search", content=raw, headers=net.bap.headers(raw))
    assert resp.status_code == 200
    assert len(net.received) == 1


async def test_route_in_fastapi_routes(net: Net) -> None:
    from fastapi import FastAPI

    app = FastAPI(routes=[net.receiver(actions=SELLER_ACTIONS).route()])
    raw = body("select")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        ok = await c.post("/select", content=raw, headers=net.bap.headers(raw))
        get = await c.get("/select")
    assert ok.status_code == 200
    assert get.status_code == 405


# --- bad bodies (signed correctly, so only the body is at fault) -----------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", None),
        (b'{"message": {}}', "context"),
        (b'{"context": "search", "message": {}}', "context"),
    ],
    ids=["malformed-json", "empty", "array", "no-context", "context-not-object"],
)
async def test_bad_json_or_context_is_a_400_nack(
    net: Net, asgi: httpx.AsyncClient, raw: bytes, path: str | None
) -> None:
    resp = await post(asgi, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    err = nack(resp)
    assert err["code"] == "30000"
    if path:
        assert err["paths"] == path
    assert_untouched(net)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"version": "1.0.0"}, "30000"),
        ({"version": None}, "30000"),
        ({"action": "select"}, "40001"),
        ({"action": "buy_now"}, "40001"),
        ({"message_id": None}, "30000"),
        ({"timestamp": "yesterday"}, "30000"),
        ({"bap_id": None}, "30000"),
    ],
    ids=[
        "wrong-version",
        "no-version",
        "action-differs-from-path",
        "unknown-action",
        "no-message-id",
        "bad-timestamp",
        "no-bap-id",
    ],
)
async def test_bad_context_fields_are_400_nacks(
    net: Net, asgi: httpx.AsyncClient, change: dict[str, Any], code: str
) -> None:
    data = message("search", bpp_id=None)
    for k, v in change.items():
        if v is None:
            data["context"].pop(k)
        else:
            data["context"][k] = v
    raw = orjson.dumps(data)
    resp = await post(asgi, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    assert nack(resp)["code"] == code
    assert_untouched(net)


async def test_unknown_action_in_path_is_a_400_nack(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    resp = await post(asgi, "purchase", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    assert "purchase" in nack(resp)["message"]
    assert_untouched(net)


async def test_action_not_served_by_this_role_is_a_400_nack(net: Net) -> None:
    app = net.receiver(actions=CALLBACK_ACTIONS)  # a buyer app receives callbacks only
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    assert_untouched(net)


async def test_get_is_refused_with_405(net: Net, asgi: httpx.AsyncClient) -> None:
    resp = await asgi.get("/search")
    assert resp.status_code == 405
    assert nack(resp)


# --- size -------------------------------------------------------------------------------------


async def test_body_over_the_cap_by_content_length_is_413(net: Net) -> None:
    app = net.receiver(max_body_bytes=1024)
    raw = body("search", bpp_id=None) + b" " * 2048
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 413
    assert nack(resp)["code"] == "10000"
    assert_untouched(net)
    assert net.source.calls == []  # refused before any lookup


async def test_body_over_the_cap_while_streaming_is_413(net: Net) -> None:
    """No Content-Length (chunked): the cap is enforced while reading."""
    app = net.receiver(max_body_bytes=4096)
    raw = body("search", bpp_id=None) + b" " * 8192
    sent: list[dict[str, Any]] = []
    chunks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    headers = [(k.lower().encode(), v.encode()) for k, v in net.bap.headers(raw).items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/search",
        "headers": headers,
        "client": ("1.2.3.4", 1),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert reads == 5  # stopped reading as soon as the cap was passed
    assert_untouched(net)


async def test_body_at_the_cap_is_read(net: Net) -> None:
    raw = body("search", bpp_id=None)
    app = net.receiver(max_body_bytes=len(raw))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 200


async def test_bad_content_length_is_400(net: Net) -> None:
    app = net.receiver()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/search", "headers": [(b"content-length", b"x")]}
    await app(scope, receive, send)
    assert sent[0]["status"] == 400


# --- signatures and keys ------------------------------------------------------------------------


def assert_401(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 401
    www = resp.headers["www-authenticate"]
    assert www.startswith('Signature realm="seller.example"')
    assert 'headers="(created) (expires) digest"' in www
    err = nack(resp)
    assert err["code"] == SIGNATURE_CODE
    return err


async def test_missing_authorization_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    assert_401(await post(asgi, "search", raw, {"Content-Type": "application/json"}))
    assert_untouched(net)


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Signature", 'Signature keyId="a|b|rsa",signature="x"', 'Signature keyId="x"'],
)
async def test_malformed_authorization_is_401(net: Net, asgi: httpx.AsyncClient, header: str) -> None:
    raw = body("search", bpp_id=None)
    assert_401(await post(asgi, "search", raw, {"Authorization": header}))
    assert_untouched(net)


async def test_tampered_body_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    headers = net.bap.headers(raw, digest=False)
    tampered = raw.replace(b"earphone", b"earphonX")
    assert_401(await post(asgi, "search", tampered, headers))
    assert_untouched(net)


async def test_re_serialised_body_is_401_naming_the_digest(net: Net, asgi: httpx.AsyncClient) -> None:
    data = message("search", bpp_id=None)
    raw = orjson.dumps(data)
    headers = net.bap.headers(raw)
    pretty = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    err = assert_401(await post(asgi, "search", pretty, headers))
    assert "digest" in err["message"].lower()
    assert_untouched(net)


async def test_signed_by_another_key_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    impostor = Party("buyer.example", "BAP", ukid="k1")  # same ids, other key
    raw = body("search", bpp_id=None)
    assert_401(await post(asgi, "search", raw, impostor.headers(raw)))
    assert_untouched(net)


async def test_unknown_subscriber_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    stranger = Party("stranger.example", "BAP")
    raw = body("search", bap_id="stranger.example", bpp_id=None)
    err = assert_401(await post(asgi, "search", raw, stranger.headers(raw)))
    assert "stranger.example" in err["message"]
    assert_untouched(net)


async def test_unknown_key_id_of_a_known_subscriber_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    other = Party("buyer.example", "BAP", ukid="k2", keys=net.bap.keys)
    raw = body("search", bpp_id=None)
    assert_401(await post(asgi, "search", raw, other.headers(raw)))
    assert_untouched(net)


@pytest.mark.parametrize("status", ["REVOKED", "UNSUBSCRIBED", "INITIATED"])
async def test_revoked_or_inactive_key_is_401(net: Net, asgi: httpx.AsyncClient, status: str) -> None:
    net.bap.status = status
    raw = body("search", bpp_id=None)
    err = assert_401(await post(asgi, "search", raw, net.bap.headers(raw)))
    assert status.lower() in err["message"]
    assert_untouched(net)


async def test_key_past_valid_until_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    net.bap.valid_until = time.time() - 10
    raw = body("search", bpp_id=None)
    assert "expired" in assert_401(await post(asgi, "search", raw, net.bap.headers(raw)))["message"]
    assert_untouched(net)


async def test_key_not_yet_valid_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    net.bap.valid_from = time.time() + 600
    raw = body("search", bpp_id=None)
    assert "not valid yet" in assert_401(await post(asgi, "search", raw, net.bap.headers(raw)))["message"]
    assert_untouched(net)


async def test_expired_signature_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    now = int(time.time())
    headers = net.bap.headers(raw, created=now - 120, expires=now - 60)
    assert_401(await post(asgi, "search", raw, headers))
    assert_untouched(net)
    assert net.source.calls == []  # a stale header costs no lookup


async def test_signature_from_the_future_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    now = int(time.time())
    assert_401(await post(asgi, "search", raw, net.bap.headers(raw, created=now + 600, expires=now + 900)))
    assert_untouched(net)


async def test_request_signed_by_someone_else_than_bap_id_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)  # context.bap_id = buyer.example
    err = assert_401(await post(asgi, "search", raw, net.bpp.headers(raw)))
    assert "bap_id" in err["message"]
    assert_untouched(net)


async def test_callback_signed_by_the_buyer_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("on_select")
    err = assert_401(await post(asgi, "on_select", raw, net.bap.headers(raw)))
    assert "bpp_id" in err["message"]
    assert_untouched(net)


async def test_bad_gateway_signature_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    other = Party("gateway.example", "BG")  # another key
    assert_401(
        await post(asgi, "search", raw, net.bap.headers(raw) | {"X-Gateway-Authorization": other.sign(raw)})
    )
    assert_untouched(net)


async def test_gateway_header_signed_by_a_non_gateway_is_401(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    resp = await post(
        asgi, "search", raw, net.bap.headers(raw) | {"X-Gateway-Authorization": net.bpp.sign(raw)}
    )
    assert "not a gateway" in assert_401(resp)["message"]
    assert_untouched(net)


async def test_gateway_required_but_absent_is_401(net: Net) -> None:
    app = net.receiver(require_gateway_for=["search"])
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert_401(await post(c, "search", raw, net.bap.headers(raw)))
    assert_untouched(net)


# --- time to live and replays -------------------------------------------------------------------


async def test_message_past_its_ttl_is_stale(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None, ttl="PT30S", timestamp=ago(60))
    resp = await post(asgi, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    assert nack(resp)["code"] == STALE_CODE
    assert_untouched(net)


async def test_message_without_ttl_uses_the_default(net: Net) -> None:
    app = net.receiver(default_ttl_s=10)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        old = body("search", bpp_id=None, ttl=None, timestamp=ago(20))
        fresh = body("search", bpp_id=None, ttl=None, timestamp=ago(5))
        assert nack(await post(c, "search", old, net.bap.headers(old)))["code"] == STALE_CODE
        assert (await post(c, "search", fresh, net.bap.headers(fresh))).status_code == 200


async def test_timestamp_in_the_future_is_refused(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None, timestamp=ago(-600))
    resp = await post(asgi, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 400
    assert "future" in nack(resp)["message"]
    assert_untouched(net)


async def test_replayed_message_id_within_ttl_is_stale(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None, ttl="PT5M")
    headers = net.bap.headers(raw)
    assert (await post(asgi, "search", raw, headers)).status_code == 200
    again = await post(asgi, "search", raw, headers)  # the same bytes and header
    assert again.status_code == 400
    assert nack(again)["code"] == STALE_CODE
    assert len(net.received) == 1


async def test_re_signed_duplicate_message_id_is_stale(net: Net, asgi: httpx.AsyncClient) -> None:
    mid = "0b8a5b7a-4c5e-4f63-9a7d-1f4f1d9b2c11"
    first = body("search", bpp_id=None, message_id=mid)
    second = body("search", bpp_id=None, message_id=mid)  # other bytes, same message_id
    assert (await post(asgi, "search", first, net.bap.headers(first))).status_code == 200
    resp = await post(asgi, "search", second, net.bap.headers(second))
    assert nack(resp)["code"] == STALE_CODE
    assert len(net.received) == 1


async def test_same_message_id_from_another_sender_or_action_is_accepted(
    net: Net, asgi: httpx.AsyncClient
) -> None:
    mid = "0b8a5b7a-4c5e-4f63-9a7d-1f4f1d9b2c12"
    req = body("select", message_id=mid)
    cb = body("on_select", message_id=mid)  # the callback of the same exchange
    assert (await post(asgi, "select", req, net.bap.headers(req))).status_code == 200
    assert (await post(asgi, "on_select", cb, net.bpp.headers(cb))).status_code == 200
    assert len(net.received) == 2


async def test_several_on_search_pages_share_a_message_id(net: Net, asgi: httpx.AsyncClient) -> None:
    mid = "0b8a5b7a-4c5e-4f63-9a7d-1f4f1d9b2c13"
    page1 = body("on_search", message_id=mid)
    page2 = body("on_search", message_id=mid)
    h1 = net.bpp.headers(page1)
    assert (await post(asgi, "on_search", page1, h1)).status_code == 200
    assert (await post(asgi, "on_search", page2, net.bpp.headers(page2))).status_code == 200
    assert nack(await post(asgi, "on_search", page1, h1))["code"] == STALE_CODE  # a true replay


# --- the handler -------------------------------------------------------------------------------


async def test_handler_protocol_error_is_a_nack_and_frees_the_message_id(net: Net) -> None:
    from mercato.protocol.errors import Code, ProtocolError

    calls = 0

    async def handler(_inbound: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ProtocolError(Code.ITEM_NOT_FOUND, "no such item")

    app = net.receiver(handler=handler, actions=["select"])
    raw = body("select")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "select", raw, net.bap.headers(raw))
        assert resp.status_code == 400
        assert nack(resp)["code"] == "30004"
        assert (
            await post(c, "select", raw, net.bap.headers(raw))
        ).status_code == 200  # a retry is not a replay


async def test_handler_crash_is_a_500_nack_without_details(
    net: Net, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(_inbound: Any) -> None:
        raise RuntimeError("database password is hunter2")

    app = net.receiver(handler=handler)
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 500
    assert "hunter2" not in resp.text
    assert nack(resp)["code"] == "31001"
    assert len(net.guard) == 0


# --- logging --------------------------------------------------------------------------------------


async def test_each_refusal_is_logged_once_without_secrets(
    net: Net, asgi: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    raw = body("search", bpp_id=None, ttl="PT30S", timestamp=ago(60))
    headers = net.bap.headers(raw)
    with caplog.at_level(logging.WARNING, logger="mercato.transport.server"):
        await post(asgi, "search", raw, headers)
        await post(asgi, "search", raw, {"Authorization": 'Signature keyId="x"'})
    lines = [r.getMessage() for r in caplog.records if r.name == "mercato.transport.server"]
    assert len(lines) == 2
    assert "search" in lines[0] and "buyer.example" in lines[0] and "20002" in lines[0]
    signature = headers["Authorization"].split('signature="')[1].rstrip('"')
    for line in lines:
        assert signature not in line
        assert "earphone" not in line  # no body content
        assert net.bap.keys.to_dict()["signing_private_key"] not in line


def test_receiver_rejects_unknown_actions_at_construction(net: Net) -> None:
    with pytest.raises(ValueError, match="not Beckn actions"):
        BecknReceiver(keys=net.cache, handler=net.handler, actions=["search", "buy"])


async def test_digest_header_is_checked_when_present(net: Net, asgi: httpx.AsyncClient) -> None:
    raw = body("search", bpp_id=None)
    headers = net.bap.headers(raw) | {"Digest": digest_header(b"other")}
    assert "digest" in assert_401(await post(asgi, "search", raw, headers))["message"].lower()


async def test_in_front_of_an_app_serves_actions_and_passes_the_rest(net: Net) -> None:
    from fastapi import FastAPI

    inner = FastAPI()

    @inner.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @inner.post("/admin/search")
    async def admin() -> dict[str, str]:
        return {"admin": "yes"}

    app = net.receiver(actions=SELLER_ACTIONS).in_front_of(inner, prefix="/beckn")
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.post("/beckn/search", content=raw, headers=net.bap.headers(raw))).status_code == 200
        assert (await c.get("/health")).json() == {"status": "ok"}
        assert (await c.post("/admin/search")).json() == {"admin": "yes"}
        assert (await c.post("/beckn/on_search", content=raw)).status_code == 404  # not served: the app's 404
        assert (await c.get("/beckn/search")).status_code == 404
    assert len(net.received) == 1


async def test_a_failing_key_source_is_a_500_nack_not_a_crash(net: Net) -> None:
    from mercato.transport.lookup import LookupCache

    class Broken:
        async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[Any]:
            raise KeyError("bug")

    app = net.receiver(keys=LookupCache(Broken()))
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 500
    assert nack(resp)["code"] == "31001"
    assert_untouched(net)


async def test_unreachable_registry_is_a_503_nack(net: Net) -> None:
    from mercato.transport.lookup import LookupCache, RegistryKeySource

    app = net.receiver(keys=LookupCache(RegistryKeySource("http://127.0.0.1:9", timeout_s=1)))
    raw = body("search", bpp_id=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        resp = await post(c, "search", raw, net.bap.headers(raw))
    assert resp.status_code == 503
    assert "retry" in nack(resp)["message"]
    assert_untouched(net)

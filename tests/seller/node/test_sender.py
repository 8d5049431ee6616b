"""The callback sender: signed bytes as BecknClient signs them, kept-alive connections, every way an
answer can come back (Content-Length, chunked, close-delimited, NACK, garbage, timeout, peer gone)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import verify
from mercato.seller.node.sender import CallbackSender
from mercato.transport.client import DeliveryError

ACK = b'{"message":{"ack":{"status":"ACK"}}}'
NACK = b'{"message":{"ack":{"status":"NACK"}},"error":{"code":"30004","message":"no such order"}}'


def content_length(body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@dataclass
class Peer:
    """A loopback HTTP/1.1 server: records requests; ``answer`` builds the bytes written back."""

    answer: Callable[[int], bytes | None] = lambda n: content_length(ACK)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0
    close_after_answer: bool = False
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                first, *lines = head[:-4].decode().split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
                body = await reader.readexactly(int(headers["content-length"]))
                self.requests.append((first, headers, body))
                out = self.answer(len(self.requests))
                if out is None:  # say nothing, hang up
                    return
                if out == b"":  # say nothing, keep the connection open
                    await asyncio.sleep(10)
                    return
                writer.write(out)
                await writer.drain()
                if self.close_after_answer:
                    return
        finally:
            writer.close()


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    p = Peer()
    server = await asyncio.start_server(p.handle, "127.0.0.1", 0)
    p.port = server.sockets[0].getsockname()[1]
    yield p
    server.close()


@pytest.fixture
async def sender() -> AsyncIterator[CallbackSender]:
    keys = KeyPair.generate()
    s = CallbackSender("seller.example", "k1", keys.signing, timeout_s=2)
    s.public_key = keys.signing_public_key  # type: ignore[attr-defined]
    yield s
    await s.aclose()


def body(n: int) -> bytes:
    return orjson.dumps({"context": {"action": "on_select", "message_id": f"m-{n}"}, "message": {}})


async def test_signed_exact_bytes_and_connection_reused(peer: Peer, sender: CallbackSender) -> None:
    for n in range(3):
        answer = await sender.send(f"http://127.0.0.1:{peer.port}/beckn/", "on_select", body(n))
        assert answer.ack and answer.status == 200
    assert peer.connections == 1 and sender.connections_opened == 1
    for n, (first, headers, got) in enumerate(peer.requests):
        assert first == "POST /beckn/on_select HTTP/1.1"
        assert got == body(n)
        assert headers["host"] == f"127.0.0.1:{peer.port}"
        assert headers["content-type"] == "application/json"
        sig = verify(
            headers["authorization"],
            got,
            sender.public_key,  # type: ignore[attr-defined]
            now=time.time(),
            expected_subscriber_id="seller.example",
            body_digest_header=headers["digest"],
        )
        assert sig.unique_key_id == "k1"


async def test_nack_is_an_answer(peer: Peer, sender: CallbackSender) -> None:
    peer.answer = lambda n: content_length(NACK)
    answer = await sender.send(f"http://127.0.0.1:{peer.port}", "on_status", body(1))
    assert not answer.ack and answer.error_code == "30004"


async def test_chunked_answer(peer: Peer, sender: CallbackSender) -> None:
    chunks = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (ACK[:10], ACK[10:]))
    peer.answer = lambda n: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    for n in range(2):
        assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(n))).ack
    assert peer.connections == 1


async def test_close_delimited_answer_and_connection_close(peer: Peer, sender: CallbackSender) -> None:
    peer.close_after_answer = True
    peer.answer = lambda n: b"HTTP/1.0 200 OK\r\n\r\n" + ACK
    assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(1))).ack
    peer.answer = lambda n: content_length(ACK, "Connection: close\r\n")
    assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(2))).ack
    assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(3))).ack
    assert peer.connections == 3 and sender.connections_opened == 3


async def test_idle_connection_closed_by_peer_is_replaced(peer: Peer, sender: CallbackSender) -> None:
    assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(1))).ack
    # the peer hangs up on the kept-alive connection without answering the next request
    peer.answer = lambda n: None if n == 2 else content_length(ACK)
    assert (await sender.send(f"http://127.0.0.1:{peer.port}", "on_init", body(2))).ack
    assert sender.connections_opened == 2 and len(peer.requests) == 3


@pytest.mark.parametrize(
    "answer, needle, reusable",
    [
        (lambda n: b"HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\noops!", "not a Beckn", True),
        (lambda n: content_length(b'{"message":{"ack":{"status":"MAYBE"}}}'), "unknown ack", True),
        (lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort", "IncompleteRead", False),
        (lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "out of range", False),
        (lambda n: b"HTTP/1.1 2xx OK\r\nContent-Length: 0\r\n\r\n", "ValueError", False),
        (lambda n: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "ValueError", False),
        (lambda n: None, "closed before the answer", False),
        (lambda n: b"", "timed out", False),
    ],
)
async def test_bad_answers_raise_delivery_error(
    peer: Peer, sender: CallbackSender, answer: Callable[[int], bytes | None], needle: str, reusable: bool
) -> None:
    peer.answer = answer
    peer.close_after_answer = not reusable
    with pytest.raises(DeliveryError, match=needle):
        await sender.send(f"http://127.0.0.1:{peer.port}", "on_confirm", body(1))
    # a well-framed answer leaves the connection usable; a broken one is never reused
    assert len(sender._idle.get(("127.0.0.1", peer.port), [])) == (1 if reusable else 0)


async def test_nobody_listening(sender: CallbackSender, unused_tcp_port: int) -> None:
    with pytest.raises(DeliveryError, match="cannot post"):
        await sender.send(f"http://127.0.0.1:{unused_tcp_port}", "on_confirm", body(1))


async def test_bad_port(sender: CallbackSender) -> None:
    with pytest.raises(DeliveryError, match="bad port"):
        await sender.send("http://127.0.0.1:99999", "on_confirm", body(1))


async def test_message_log_kept(peer: Peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCATO_MESSAGE_LOG_DIR", str(tmp_path))
    s = CallbackSender("seller.example", "k1", KeyPair.generate().signing, timeout_s=2)
    try:
        assert (await s.send(f"http://127.0.0.1:{peer.port}", "on_confirm", body(7))).ack
    finally:
        await s.aclose()
    logged = {f.name: f.read_bytes() for f in tmp_path.glob("*.json")}  # noqa: ASYNC240
    assert logged == {"000001-on_confirm-m-7.json": body(7)}
    assert peer.requests[0][2] == body(7)

"""The write-coalescing uvicorn protocol: same bytes on the wire, one write per loop iteration."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from mercato.transport.http import _CoalescingTransport, server_config
from tests.transport.conftest import Net
from tests.transport.transport_helpers import body


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


async def test_writes_in_one_iteration_leave_as_one() -> None:
    raw = FakeTransport()
    t: Any = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    t.write(b"{}")
    assert raw.writes == []
    assert t.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    t.write(b"x")
    t.close()  # flushes before closing
    assert raw.writes[-1] == b"x" and raw.closed
    assert t.get_extra_info("peername") == ("127.0.0.1", 1)  # everything else passes through


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    config = server_config(app, host="127.0.0.1", port=0, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, int(port)


def test_receiver_served_with_the_coalescing_protocol(net: Net) -> None:
    server, thread, port = _serve(net.receiver())
    try:
        # keep-alive client
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for _ in range(3):
                raw = body("search", bpp_id=None)
                resp = c.post("/search", content=raw, headers=net.bap.headers(raw))
                assert resp.status_code == 200 and resp.json() == {"message": {"ack": {"status": "ACK"}}}
            bad = c.post("/search", content=b"{}", headers={"Authorization": "nope"})
            assert bad.status_code == 401 and "www-authenticate" in bad.headers
        # three pipelined requests in one segment get three complete answers, in order
        reqs = b""
        for _ in range(3):
            raw = body("search", bpp_id=None)
            h = net.bap.headers(raw)
            reqs += (
                f"POST /search HTTP/1.1\r\nHost: x\r\nAuthorization: {h['Authorization']}\r\n"
                f"Content-Length: {len(raw)}\r\n\r\n"
            ).encode() + raw
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(reqs)
            data = b""
            while data.count(b'"ACK"') < 3:
                chunk = s.recv(65536)
                assert chunk, data
                data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 3
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(net.received) == 6

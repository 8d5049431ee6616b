"""Serving a role over HTTP/1.1 with uvicorn, tuned for many small signed requests.

uvicorn writes a response's status line and headers, then its body, as two ``transport.write``
calls: two ``send`` system calls and two TCP segments for a 40-byte ACK. On loopback and in
virtual machines the system call dominates the cost of an ACK, so :class:`CoalescingHttpToolsProtocol`
gathers everything written to a connection during one event-loop iteration into one write
(flushed on the next iteration, microseconds later). Responses are otherwise byte-identical.

Each request also allocates a few hundred small objects (the parsed message), so CPython's cyclic
garbage collector runs every few requests and, every few hundred, walks the whole heap of loaded
modules and pydantic schemas. :func:`tune_gc` freezes what exists at start-up and collects less
often (about 20% of an ACK's CPU time on the benchmark).

::

    serve(app, host="127.0.0.1", port=8080)         # or: uvicorn.Server(server_config(app, ...)).run()
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard]

log = logging.getLogger("mercato.transport.http")


class _CoalescingTransport:
    """Wraps an asyncio transport: writes made in one loop iteration leave as one ``write``."""

    __slots__ = ("_transport", "_loop", "_pending", "_scheduled")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`_CoalescingTransport` under it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)


def server_config(app: Any, host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> uvicorn.Config:
    """A uvicorn config for a role: uvloop when installed, the coalescing httptools protocol, no
    access log (the receiver logs refusals itself). ``kwargs`` go to :class:`uvicorn.Config`."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:  # pragma: no cover
        loop = "asyncio"
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": loop,
        "http": CoalescingHttpToolsProtocol,
        "access_log": False,
        "log_level": "warning",
    }
    options.update(kwargs)
    return uvicorn.Config(app, **options)


def tune_gc(threshold0: int = 20_000, threshold1: int = 50, threshold2: int = 100) -> None:
    """Move every object alive now out of the collector's reach (``gc.freeze``) and collect the
    young generation every ``threshold0`` allocations instead of 700. Call once, after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold0, threshold1, threshold2)


def serve(
    app: Any, host: str = "127.0.0.1", port: int = 8000, *, gc_tuning: bool = True, **kwargs: Any
) -> None:
    """Run ``app`` with :func:`server_config` until stopped (blocking)."""
    server = uvicorn.Server(server_config(app, host, port, **kwargs))
    if gc_tuning:
        tune_gc()
    server.run()

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

Several processes can serve one address: :func:`listen_socket` binds it once, :func:`run_workers`
starts the worker commands with the socket inherited and supervises them, and each worker runs
``serve(app, fd=..., parent_pid=...)`` on it (the kernel hands each new connection to one of them).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
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
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    gc_tuning: bool = True,
    fd: int | None = None,
    parent_pid: int | None = None,
    **kwargs: Any,
) -> None:
    """Run ``app`` with :func:`server_config` until stopped (blocking).

    ``fd``: accept on this inherited listening socket instead of binding ``host:port`` (a worker of
    :func:`run_workers`). ``parent_pid``: stop (as on SIGTERM) when that process is gone, so workers
    never outlive their supervisor."""
    server = uvicorn.Server(server_config(app, host, port, **kwargs))
    if gc_tuning:
        tune_gc()
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    server.run(sockets=[socket.socket(fileno=fd)] if fd is not None else None)


def _watch_parent(parent_pid: int, every_s: float = 0.5) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every_s)
    log.warning("supervisor %d is gone: stopping", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)


def listen_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket that child processes inherit (see :func:`run_workers`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def run_workers(
    commands: Sequence[Sequence[str]],
    sock: socket.socket,
    *,
    stop_timeout_s: float = 30.0,
    max_quick_deaths: int = 5,
) -> int:
    """Supervise worker processes that all accept on ``sock`` (blocking; for the main thread).

    Each command is started with the socket's descriptor passed on (the command names it, e.g.
    ``--worker-fd N``). SIGINT or SIGTERM here stops every worker with SIGTERM (each finishes the
    requests it accepted), waits up to ``stop_timeout_s``, then kills what is left. A worker that
    exits while the pool runs is started again; if workers die within 5 s of their start
    ``max_quick_deaths`` times in a row, everything stops and the exit status is 1."""
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    def start(cmd: Sequence[str]) -> tuple[subprocess.Popen[bytes], float]:
        return subprocess.Popen(list(cmd), pass_fds=(sock.fileno(),)), time.monotonic()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start(cmd) for cmd in commands]
    quick_deaths, status = 0, 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (proc, started) in enumerate(procs):
                code = proc.poll()
                if code is None or stopping:
                    continue
                quick = time.monotonic() - started < 5.0
                quick_deaths = quick_deaths + 1 if quick else 0
                log.warning("worker %d (pid %d) exited with %s", i, proc.pid, code)
                if quick_deaths >= max_quick_deaths:
                    log.error("workers keep dying at start: stopping")
                    stopping, status = True, 1
                    break
                if quick:
                    time.sleep(1.0)
                procs[i] = start(commands[i])
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + stop_timeout_s
        for proc, _ in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()
    return status

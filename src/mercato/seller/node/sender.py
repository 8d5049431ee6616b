"""Posting signed callbacks: a lean HTTP/1.1 client for ``http://`` buyer apps.

The outbox sends three callbacks per checkout. Through httpx each POST cost more CPU than the
signature over it (its connection pool checks every idle connection on each request, and anyio's
streams add a few layers per read). :class:`CallbackSender` keeps idle keep-alive connections per
host on plain asyncio streams and writes each request (headers and body) in one write. It signs
exactly as :class:`~mercato.transport.client.BecknClient` does (the same ``Authorization`` and
``Digest`` headers), records the message log the same way, and answers the same
:class:`~mercato.transport.client.AckAnswer` or raises :class:`~mercato.transport.client.DeliveryError`.
``https://`` destinations go through ``BecknClient`` (httpx, with TLS).

A request on a reused idle connection that the peer had already closed (its keep-alive timeout) is
sent again once on a new connection; a callback may arrive twice in rare cases, as the outbox's
at-least-once delivery allows anyway.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato.transport import message_log
from mercato.transport.client import AckAnswer, BecknClient, DeliveryError, action_url, parse_answer

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


class _Closed(Exception):
    """The peer closed the connection before any byte of the answer arrived."""


class CallbackSender:
    def __init__(
        self,
        subscriber_id: str,
        unique_key_id: str,
        signing_key: Ed25519PrivateKey,
        *,
        timeout_s: float = 10.0,
        max_idle_per_host: int = 64,
    ) -> None:
        self.signer = BecknClient(subscriber_id, unique_key_id, signing_key, timeout_s=timeout_s)
        self.timeout_s = timeout_s
        self.max_idle_per_host = max_idle_per_host
        self._log_dir = message_log.log_dir()
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self.connections_opened = 0

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()
        await self.signer.aclose()

    async def send(self, base_url: str, action: str, body: bytes) -> AckAnswer:
        """Sign ``body`` and post it to ``{base_url}/{action}``; the receiver's ACK/NACK."""
        url = action_url(base_url, action)
        headers = self.signer.signed_headers(body)
        parts = urlsplit(url)
        if parts.scheme != "http":
            return await self.signer.post(url, body, headers)
        if self._log_dir is not None:
            message_log.record(url, body, self._log_dir)
        host = parts.hostname or ""
        try:
            port = parts.port or 80
        except ValueError:
            raise DeliveryError(f"bad port in {url}") from None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange((host, port), request)
        except TimeoutError:
            raise DeliveryError(f"timed out posting to {url}") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, _Closed) as exc:
            raise DeliveryError(f"cannot post to {url}: {type(exc).__name__}: {exc}") from None

    async def _exchange(self, key: tuple[str, int], request: bytes) -> AckAnswer:
        idle = self._idle.setdefault(key, [])
        while idle:
            conn = idle.pop()
            if conn[1].is_closing() or conn[0].at_eof():
                conn[1].close()
                continue
            try:
                return await self._roundtrip(key, conn, request)
            except (_Closed, ConnectionResetError, BrokenPipeError):
                conn[1].close()  # closed while idle: send again on a new connection
                break
            except BaseException:
                conn[1].close()
                raise
        reader, writer = await asyncio.open_connection(key[0], key[1], limit=MAX_HEAD)
        self.connections_opened += 1
        try:
            return await self._roundtrip(key, (reader, writer), request)
        except BaseException:
            writer.close()
            raise

    async def _roundtrip(self, key: tuple[str, int], conn: _Conn, request: bytes) -> AckAnswer:
        reader, writer = conn
        writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Closed("connection closed before the answer") from None
            raise
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        status = int(rest[:3])
        fields: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        elif "content-length" in fields:
            length = int(fields["content-length"])
            if length < 0 or length > MAX_BODY:
                raise ValueError(f"answer length {length} out of range")
            body = await reader.readexactly(length)
        else:
            body = await reader.read(MAX_BODY)
            keep = False
        if keep and len(self._idle[key]) < self.max_idle_per_host:
            self._idle[key].append(conn)
        else:
            writer.close()
        return parse_answer(status, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(out)
        if len(out) + size > MAX_BODY:
            raise ValueError("answer too long")
        out += await reader.readexactly(size)
        await reader.readexactly(2)

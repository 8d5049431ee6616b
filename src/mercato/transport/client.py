"""The signing client: serialise once, sign those bytes, send those bytes.

::

    async with BecknClient("buyer.example", "k1", keys.signing) as client:
        answer = await client.send(bpp_uri, "search", search_request)
        if not answer.ack: ...

``send`` posts to ``{base_url}/{action}`` with ``Authorization`` (the Beckn signature over the exact
body bytes), ``Digest: BLAKE-512=...`` and ``Content-Type: application/json``, and returns the
parsed :class:`AckAnswer`. A network failure, a timeout or an answer that is not a Beckn ACK/NACK
raises :class:`DeliveryError` (retry later); a NACK is an answer, not an exception.

A gateway forwards the bytes it received, unchanged, with its own ``X-Gateway-Authorization``
over them: :meth:`BecknClient.forward`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel

from mercato.protocol.messages import dump
from mercato.protocol.signing import DEFAULT_VALIDITY_S, digest_header, sign
from mercato.transport import message_log


class DeliveryError(Exception):
    """The message may not have arrived: network error, timeout, or an answer that is no ACK/NACK."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class AckAnswer:
    """The receiver's synchronous answer."""

    status: int
    ack: bool
    error: dict[str, Any] | None
    body: bytes

    @property
    def error_code(self) -> str | None:
        code = (self.error or {}).get("code")
        return None if code is None else str(code)

    @property
    def error_message(self) -> str | None:
        msg = (self.error or {}).get("message")
        return None if msg is None else str(msg)


def serialise(payload: BaseModel | dict[str, Any] | bytes) -> bytes:
    """The exact bytes to send: a model without its unset fields, a dict as orjson writes it."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, BaseModel):
        return dump(payload)
    return orjson.dumps(payload)


def parse_answer(status: int, body: bytes) -> AckAnswer:
    """Read an ACK/NACK body. Raises :class:`DeliveryError` when it is not one."""
    try:
        data = orjson.loads(body)
        ack_status = data["message"]["ack"]["status"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise DeliveryError(f"HTTP {status}: the answer is not a Beckn ACK/NACK", status) from None
    if ack_status not in ("ACK", "NACK"):
        raise DeliveryError(f"HTTP {status}: unknown ack status {str(ack_status)[:32]!r}", status)
    error = data.get("error")
    return AckAnswer(
        status=status,
        ack=ack_status == "ACK" and 200 <= status < 300,
        error=error if isinstance(error, dict) else None,
        body=body,
    )


def action_url(base_url: str, action: str) -> str:
    return base_url.rstrip("/") + "/" + action


class BecknClient:
    def __init__(
        self,
        subscriber_id: str,
        unique_key_id: str,
        signing_key: Ed25519PrivateKey,
        *,
        timeout_s: float = 10.0,
        validity_s: int = 60,
        client: httpx.AsyncClient | None = None,
        max_connections: int = 100,
    ) -> None:
        if validity_s <= 0 or validity_s > DEFAULT_VALIDITY_S * 24:
            raise ValueError("validity_s must be positive and at most a day")
        self.subscriber_id = subscriber_id
        self.unique_key_id = unique_key_id
        self._key = signing_key
        self.validity_s = validity_s
        self._log_dir = message_log.log_dir()  # MERCATO_MESSAGE_LOG_DIR: every sent body, as sent
        self._own_client = client is None
        self._http = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __aenter__(self) -> BecknClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    def sign(self, body: bytes, *, created: int | None = None) -> str:
        """The ``Authorization`` value for exactly these bytes, valid for ``validity_s``."""
        return sign(
            body,
            self._key,
            self.subscriber_id,
            self.unique_key_id,
            created=created,
            validity_s=self.validity_s,
        )

    def signed_headers(self, body: bytes, *, created: int | None = None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Authorization": self.sign(body, created=created),
            "Digest": digest_header(body),
        }

    async def send(
        self, base_url: str, action: str, payload: BaseModel | dict[str, Any] | bytes
    ) -> AckAnswer:
        """Serialise once, sign, post to ``{base_url}/{action}``, return the ACK/NACK."""
        body = serialise(payload)
        return await self.post(action_url(base_url, action), body, self.signed_headers(body))

    async def forward(
        self, base_url: str, action: str, body: bytes, authorization: str, *, legacy: bool = False
    ) -> AckAnswer:
        """As a gateway: pass the sender's bytes and ``Authorization`` on, unchanged, with our own
        ``X-Gateway-Authorization`` (``Proxy-Authorization`` when ``legacy``) over the same bytes."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": authorization,
            "X-Gateway-Authorization" if not legacy else "Proxy-Authorization": self.sign(body),
            "Digest": digest_header(body),
        }
        return await self.post(action_url(base_url, action), body, headers)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> AckAnswer:
        if self._log_dir is not None:
            message_log.record(url, body, self._log_dir)
        try:
            resp = await self._http.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(f"timed out posting to {url}") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot post to {url}: {type(exc).__name__}: {exc}") from None
        return parse_answer(resp.status_code, resp.content)

"""What can go wrong when a buyer talks to the network, as typed exceptions.

The node raises them; the local API turns each into an HTTP status and a JSON body
(:meth:`BuyerError.to_json`); the SDK turns that body back into the same exception
(:func:`from_json`), so a buyer app sees the same types whether it embeds the node or talks to it.
"""

from __future__ import annotations

from typing import Any


class BuyerError(Exception):
    """Base class. ``kind`` names the error in the local API's JSON; ``http_status`` its status."""

    kind = "error"
    http_status = 500

    def __init__(self, message: str, *, bpp_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bpp_id = bpp_id

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.bpp_id is not None:
            out["bpp_id"] = self.bpp_id
        return out


class BadRequest(BuyerError):
    """The buyer app asked for something malformed or impossible (a missing field, a bad deadline)."""

    kind = "bad_request"
    http_status = 400


class NotFound(BuyerError):
    """No such order on this buyer node."""

    kind = "not_found"
    http_status = 404


class Conflict(BuyerError):
    """The order is not in a state that allows this call (confirm before init, rate before confirm)."""

    kind = "conflict"
    http_status = 409


class Nack(BuyerError):
    """The seller or gateway refused: a NACK to the request, or an ``error`` in the callback.
    ``code`` is the Beckn error code (``"40002"`` item quantity unavailable, ...)."""

    kind = "nack"
    http_status = 502

    def __init__(
        self, code: str | None, message: str, *, bpp_id: str | None = None, in_callback: bool = False
    ) -> None:
        super().__init__(f"{code or '-'}: {message}", bpp_id=bpp_id)
        self.code = code
        self.reason = message
        self.in_callback = in_callback

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.update(code=self.code, reason=self.reason, in_callback=self.in_callback)
        return out


class DeadlineExceeded(BuyerError):
    """The answer did not arrive before the deadline. ``arrived`` holds whatever did arrive
    (search results so far; for other calls, nothing)."""

    kind = "deadline"
    http_status = 504

    def __init__(self, message: str, *, arrived: list[Any] | None = None, bpp_id: str | None = None) -> None:
        super().__init__(message, bpp_id=bpp_id)
        self.arrived: list[Any] = list(arrived or [])

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out["arrived"] = self.arrived
        return out


class Unavailable(BuyerError):
    """A peer could not be reached (refused connection, timeout, an answer that is no ACK/NACK)."""

    kind = "unavailable"
    http_status = 503


class SellerUnavailable(Unavailable):
    kind = "seller_unavailable"


class GatewayUnavailable(Unavailable):
    kind = "gateway_unavailable"


class Unauthorized(BuyerError):
    """The local API token is missing or wrong."""

    kind = "unauthorized"
    http_status = 401


_KINDS: dict[str, type[BuyerError]] = {
    cls.kind: cls
    for cls in (
        BuyerError,
        BadRequest,
        NotFound,
        Conflict,
        Nack,
        DeadlineExceeded,
        Unavailable,
        SellerUnavailable,
        GatewayUnavailable,
        Unauthorized,
    )
}


def from_json(data: Any, status: int = 500) -> BuyerError:
    """Rebuild the exception from the local API's ``{"error": {...}}`` object."""
    if not isinstance(data, dict):
        return BuyerError(f"HTTP {status}: unexpected answer from the buyer node")
    kind = str(data.get("kind", "error"))
    message = str(data.get("message", f"HTTP {status}"))
    bpp = data.get("bpp_id")
    bpp_id = bpp if isinstance(bpp, str) else None
    cls = _KINDS.get(kind, BuyerError)
    if cls is Nack:
        code = data.get("code")
        return Nack(
            None if code is None else str(code),
            str(data.get("reason", message)),
            bpp_id=bpp_id,
            in_callback=bool(data.get("in_callback", False)),
        )
    if cls is DeadlineExceeded:
        arrived = data.get("arrived")
        return DeadlineExceeded(message, arrived=arrived if isinstance(arrived, list) else [], bpp_id=bpp_id)
    return cls(message, bpp_id=bpp_id)

"""The body of every Beckn call: ``{"context": ..., "message": ...}`` for the ten actions a seller
receives, ``{"context": ..., "message": ..., "error": ...}`` for their ``on_*`` callbacks, and the
synchronous ACK/NACK response.

Where the JSON Schemas and the Beckn 1.1 OpenAPI spec disagree, these models follow the spec:
``status`` and ``track`` carry ``message.order_id`` as a string (``Order.id``), not an ``Order``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from .base import BecknModel
from .catalog import Catalog
from .common import Ack, Descriptor, Error, Rating, XInput
from .context import Context
from .fulfillment import Tracking
from .order import Intent, Order
from .parties import Support

__all__ = [
    "AckMessage",
    "AckResponse",
    "CallbackRequest",
    "CancelMessage",
    "CancelRequest",
    "ConfirmMessage",
    "ConfirmRequest",
    "InitMessage",
    "InitRequest",
    "OnCancelRequest",
    "OnConfirmRequest",
    "OnInitRequest",
    "OnRatingMessage",
    "OnRatingRequest",
    "OnSearchMessage",
    "OnSearchRequest",
    "OnSelectMessage",
    "OnSelectRequest",
    "OnStatusRequest",
    "OnSupportRequest",
    "OnTrackMessage",
    "OnTrackRequest",
    "OnUpdateRequest",
    "OrderMessage",
    "RatingMessage",
    "RatingRequest",
    "Request",
    "SearchMessage",
    "SearchRequest",
    "SelectMessage",
    "SelectRequest",
    "StatusMessage",
    "StatusRequest",
    "SupportMessage",
    "SupportRequest",
    "TrackMessage",
    "TrackRequest",
    "UpdateMessage",
    "UpdateRequest",
]


class Request(BecknModel):
    """A Beckn call for one action; subclasses fix ``ACTION`` and the type of ``message``."""

    ACTION: ClassVar[str] = ""
    context: Context

    @model_validator(mode="after")
    def _action_matches(self) -> Request:
        if self.ACTION and self.context.action != self.ACTION:
            raise ValueError(f"context.action is {self.context.action!r}, expected {self.ACTION!r}")
        return self


class CallbackRequest(Request):
    """An ``on_*`` callback: a ``message``, an ``error``, or both."""

    error: Error | None = None

    @model_validator(mode="after")
    def _message_or_error(self) -> CallbackRequest:
        if getattr(self, "message", None) is None and self.error is None:
            raise ValueError("a callback needs a message or an error")
        return self


# ---- messages of the ten actions a seller receives ----


class SearchMessage(BecknModel):
    intent: Intent | None = None


class OrderMessage(BecknModel):
    """``{"order": ...}``: the message of select, init, confirm and of most callbacks."""

    order: Order


class SelectMessage(OrderMessage):
    pass


class InitMessage(OrderMessage):
    pass


class ConfirmMessage(OrderMessage):
    pass


class StatusMessage(BecknModel):
    order_id: str
    ref_id: str | None = None


class TrackMessage(BecknModel):
    order_id: str
    callback_url: str | None = None


class CancelMessage(BecknModel):
    order_id: str
    cancellation_reason_id: str | None = None
    descriptor: Descriptor | None = None


class UpdateMessage(BecknModel):
    update_target: str
    order: Order


class RatingMessage(BecknModel):
    ratings: list[Rating] | None = None


class SupportMessage(BecknModel):
    support: Support | None = None


# ---- messages of the callbacks ----


class OnSearchMessage(BecknModel):
    catalog: Catalog


class OnSelectMessage(BecknModel):
    order: Order | None = None


class OnTrackMessage(BecknModel):
    tracking: Tracking


class OnRatingMessage(BecknModel):
    feedback_form: XInput | None = None


# ---- request envelopes ----


class SearchRequest(Request):
    ACTION: ClassVar[str] = "search"
    message: SearchMessage


class SelectRequest(Request):
    ACTION: ClassVar[str] = "select"
    message: SelectMessage


class InitRequest(Request):
    ACTION: ClassVar[str] = "init"
    message: InitMessage


class ConfirmRequest(Request):
    ACTION: ClassVar[str] = "confirm"
    message: ConfirmMessage


class StatusRequest(Request):
    ACTION: ClassVar[str] = "status"
    message: StatusMessage


class TrackRequest(Request):
    ACTION: ClassVar[str] = "track"
    message: TrackMessage


class CancelRequest(Request):
    ACTION: ClassVar[str] = "cancel"
    message: CancelMessage


class UpdateRequest(Request):
    ACTION: ClassVar[str] = "update"
    message: UpdateMessage


class RatingRequest(Request):
    ACTION: ClassVar[str] = "rating"
    message: RatingMessage


class SupportRequest(Request):
    ACTION: ClassVar[str] = "support"
    message: SupportMessage


# ---- callback envelopes ----


class OnSearchRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_search"
    message: OnSearchMessage | None = None


class OnSelectRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_select"
    message: OnSelectMessage | None = None


class OnInitRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_init"
    message: OrderMessage | None = None


class OnConfirmRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_confirm"
    message: OrderMessage | None = None


class OnStatusRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_status"
    message: OrderMessage | None = None


class OnTrackRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_track"
    message: OnTrackMessage | None = None


class OnCancelRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_cancel"
    message: OrderMessage | None = None


class OnUpdateRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_update"
    message: OrderMessage | None = None


class OnRatingRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_rating"
    message: OnRatingMessage | None = None


class OnSupportRequest(CallbackRequest):
    ACTION: ClassVar[str] = "on_support"
    message: SupportMessage | None = None


# ---- the synchronous answer ----


class AckMessage(BecknModel):
    ack: Ack


class AckResponse(BecknModel):
    """The HTTP response to every Beckn call: ACK, or NACK with an ``error``."""

    message: AckMessage
    error: Error | None = None

    @property
    def status(self) -> Literal["ACK", "NACK"]:
        return self.message.ack.status

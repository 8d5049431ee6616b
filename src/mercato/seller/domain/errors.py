"""Errors raised by the seller domain.

Every error carries the Beckn error code the protocol handlers answer with, a message a merchant or
a buyer app can read, and the facts behind it as attributes, so the HTTP layer never parses messages.
"""

from __future__ import annotations

from collections.abc import Iterable

from mercato.protocol.errors import Code, ProtocolError


class DomainError(Exception):
    """A request the seller's rules refuse. ``code`` is the Beckn error code to answer with."""

    code: Code = Code.BUSINESS_ERROR
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_protocol_error(self) -> ProtocolError:
        return ProtocolError(code=self.code, message=self.message, http_status=self.http_status)


class InvalidInput(DomainError):
    code = Code.INVALID_REQUEST


class UnknownEntity(DomainError):
    """An id that names nothing: item, provider, location, category, order, return."""

    http_status = 404

    def __init__(self, kind: str, entity_id: str, code: Code = Code.INVALID_REQUEST) -> None:
        super().__init__(f"unknown {kind}: {entity_id!r}")
        self.kind = kind
        self.entity_id = entity_id
        self.code = code


class InvalidQuantity(InvalidInput):
    code = Code.INVALID_REQUEST

    def __init__(self, item_id: str, quantity: int, maximum: int) -> None:
        super().__init__(f"quantity {quantity} of item {item_id!r} must be between 1 and {maximum}")
        self.item_id = item_id
        self.quantity = quantity
        self.maximum = maximum


class CurrencyMismatch(DomainError):
    code = Code.INVALID_REQUEST

    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"currency mismatch: {left} and {right}")
        self.currencies = (left, right)


class InsufficientStock(DomainError):
    """Not enough stock: ``shortages`` maps item id to (requested, quantity left)."""

    code = Code.ITEM_QUANTITY_UNAVAILABLE
    http_status = 409

    def __init__(self, shortages: dict[str, tuple[int, int]]) -> None:
        parts = [f"{item}: requested {req}, {left} left" for item, (req, left) in sorted(shortages.items())]
        super().__init__("insufficient stock (" + "; ".join(parts) + ")")
        self.shortages = dict(shortages)

    def quantity_left(self, item_id: str) -> int:
        return self.shortages[item_id][1]


class NegativeStock(DomainError):
    """A stock operation that would take on hand or reserved below zero (or on hand below reserved)."""

    code = Code.BUSINESS_ERROR
    http_status = 409


class IllegalTransition(DomainError):
    """A state change the transition table does not allow; ``allowed`` lists what is allowed from here."""

    code = Code.ACTION_NOT_APPLICABLE
    http_status = 409

    def __init__(self, entity: str, state: str, action: str, allowed: Iterable[str]) -> None:
        self.allowed = tuple(sorted(allowed))
        shown = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(f"{entity} in state {state!r} cannot {action!r}; allowed: {shown}")
        self.entity = entity
        self.state = state
        self.action = action


class FulfillmentUnavailable(DomainError):
    code = Code.FULFILLMENT_UNAVAILABLE


class CancellationRefused(DomainError):
    code = Code.CANCELLATION_NOT_POSSIBLE
    http_status = 409


class InvalidCancellationReason(DomainError):
    code = Code.INVALID_CANCELLATION_REASON


class ReturnRefused(DomainError):
    code = Code.UPDATION_NOT_POSSIBLE
    http_status = 409


class RefundTooLarge(DomainError):
    code = Code.POLICY_ERROR
    http_status = 409


class InvalidRating(DomainError):
    code = Code.INVALID_RATING_VALUE


class SupportUnavailable(DomainError):
    code = Code.SUPPORT_UNAVAILABLE
    http_status = 404

"""Beckn error codes (BECKN-005) and the ONDC network codes used for transport failures.

A :class:`ProtocolError` carries the code, the Beckn error ``type`` and a message for the NACK.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorType(StrEnum):
    CONTEXT = "CONTEXT-ERROR"
    CORE = "CORE-ERROR"
    DOMAIN = "DOMAIN-ERROR"
    POLICY = "POLICY-ERROR"
    JSON_SCHEMA = "JSON-SCHEMA-ERROR"


class Code(StrEnum):
    # ONDC network (gateway / transport) codes
    BAD_REQUEST = "10000"  # generic bad or invalid request
    INVALID_SIGNATURE = "10001"  # cannot verify signature for request
    INVALID_CITY = "10002"
    STALE_REQUEST = "20002"  # cannot process stale request (expired ttl, replayed message_id)
    RESPONSE_OUT_OF_SEQUENCE = "20008"
    # Beckn core BECKN-005
    INVALID_REQUEST = "30000"
    PROVIDER_NOT_FOUND = "30001"
    PROVIDER_LOCATION_NOT_FOUND = "30002"
    PROVIDER_CATEGORY_NOT_FOUND = "30003"
    ITEM_NOT_FOUND = "30004"
    CATEGORY_NOT_FOUND = "30005"
    OFFER_NOT_FOUND = "30006"
    ADD_ON_NOT_FOUND = "30007"
    FULFILLMENT_UNAVAILABLE = "30008"
    FULFILLMENT_PROVIDER_UNAVAILABLE = "30009"
    ORDER_NOT_FOUND = "30010"
    INVALID_CANCELLATION_REASON = "30011"
    INVALID_UPDATE_TARGET = "30012"
    UPDATE_INCONSISTENCY = "30013"
    ENTITY_TO_RATE_NOT_FOUND = "30014"
    INVALID_RATING_VALUE = "30015"
    INTERNAL_ERROR = "31001"
    BUSINESS_ERROR = "40000"
    ACTION_NOT_APPLICABLE = "40001"
    ITEM_QUANTITY_UNAVAILABLE = "40002"
    QUOTE_UNAVAILABLE = "40003"
    PAYMENT_NOT_SUPPORTED = "40004"
    TRACKING_NOT_SUPPORTED = "40005"
    FULFILLMENT_AGENT_UNAVAILABLE = "40006"
    POLICY_ERROR = "50000"
    CANCELLATION_NOT_POSSIBLE = "50001"
    UPDATION_NOT_POSSIBLE = "50002"
    UNSUPPORTED_RATING_CATEGORY = "50003"
    SUPPORT_UNAVAILABLE = "50004"


_TYPE_BY_PREFIX = {
    "1": ErrorType.CONTEXT,
    "2": ErrorType.CONTEXT,
    "3": ErrorType.DOMAIN,
    "4": ErrorType.DOMAIN,
    "5": ErrorType.POLICY,
}


@dataclass
class ProtocolError(Exception):
    """A request the receiver will not process: answered with a NACK carrying this error."""

    code: Code
    message: str
    type: ErrorType | None = None
    path: str | None = None
    http_status: int = 400

    def __post_init__(self) -> None:
        super().__init__(f"{self.code.value}: {self.message}")
        if self.type is None:
            self.type = _TYPE_BY_PREFIX.get(self.code.value[0], ErrorType.CORE)

    def to_error(self) -> dict[str, str]:
        """The Beckn ``Error`` object (``type`` travels only where the schema allows it)."""
        out = {"code": self.code.value, "message": self.message}
        if self.path:
            out["paths"] = self.path
        return out

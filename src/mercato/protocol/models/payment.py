"""Payment terms and status of an order."""

from __future__ import annotations

from typing import Literal

from .base import BecknModel
from .common import TagGroup, Time

__all__ = ["Payment", "PaymentParams"]


class PaymentParams(BecknModel):
    """Where the money goes and how much (``amount`` is a decimal string in major units)."""

    transaction_id: str | None = None
    amount: str | None = None
    currency: str | None = None
    bank_code: str | None = None
    bank_account_number: str | None = None
    virtual_payment_address: str | None = None
    source_bank_code: str | None = None
    source_bank_account_number: str | None = None
    source_virtual_payment_address: str | None = None


class Payment(BecknModel):
    """When and how an order is paid, who collects the money, and whether it has been paid."""

    id: str | None = None
    collected_by: str | None = None
    url: str | None = None
    tl_method: str | None = None
    params: PaymentParams | None = None
    type: (
        Literal[
            "PRE-ORDER", "PRE-FULFILLMENT", "ON-FULFILLMENT", "POST-FULFILLMENT", "ON-ORDER", "PART-PAYMENT"
        ]
        | None
    ) = None
    status: Literal["PAID", "NOT-PAID"] | None = None
    time: Time | None = None
    tags: list[TagGroup] | None = None

"""Support contacts: who a buyer can reach about a provider or a specific order.

An order-level contact overrides the provider's; a provider without one falls back to the node's
default. Beckn ``support`` asks by ``ref_id`` (an order id, or a provider id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import InvalidInput, SupportUnavailable

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SupportContact:
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    hours: str = ""  # e.g. "Mon-Sat 09:00-18:00 IST"

    def __post_init__(self) -> None:
        if not (self.phone or self.email or self.url):
            raise InvalidInput("a support contact needs a phone, an email or a URL")
        if self.phone is not None and not _PHONE.match(self.phone):
            raise InvalidInput(f"not a phone number: {self.phone!r}")
        if self.email is not None and not _EMAIL.match(self.email):
            raise InvalidInput(f"not an email address: {self.email!r}")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise InvalidInput(f"support URL must be http(s): {self.url!r}")


@dataclass
class SupportDirectory:
    default: SupportContact | None = None
    by_provider: dict[str, SupportContact] = field(default_factory=dict)
    by_order: dict[str, SupportContact] = field(default_factory=dict)
    order_provider: dict[str, str] = field(default_factory=dict)  # order id -> provider id

    def set_provider(self, provider_id: str, contact: SupportContact) -> None:
        self.by_provider[provider_id] = contact

    def set_order(self, order_id: str, provider_id: str, contact: SupportContact | None = None) -> None:
        self.order_provider[order_id] = provider_id
        if contact is not None:
            self.by_order[order_id] = contact

    def contact_for(self, ref_id: str) -> SupportContact:
        """The contact for an order id or a provider id; raises SupportUnavailable if there is none."""
        if ref_id in self.by_order:
            return self.by_order[ref_id]
        provider_id = self.order_provider.get(ref_id, ref_id)
        known = ref_id in self.order_provider or ref_id in self.by_provider
        if provider_id in self.by_provider:
            return self.by_provider[provider_id]
        if known and self.default is not None:
            return self.default
        raise SupportUnavailable(f"no support contact for {ref_id!r}")

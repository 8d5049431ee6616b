"""The ``context`` every Beckn message carries: who sends it to whom, for which action, when, and in
which transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from .base import BecknModel, DateTimeStr, DurationStr, UriStr, UuidStr, duration_seconds, parse_rfc3339
from .location import City, Country, Location

__all__ = ["BECKN_VERSION", "Context", "ContextCity", "ContextCountry", "ContextLocation"]

BECKN_VERSION: Final = "1.1.0"


class ContextCountry(Country):
    code: str


class ContextCity(City):
    code: str


class ContextLocation(Location):
    """Where the transaction happens: ``country.code`` (``IND``) and ``city.code`` (``std:080``)."""

    country: ContextCountry
    city: ContextCity


class Context(BecknModel):
    """Routing and identity of a message.

    ``transaction_id`` groups every message of one purchase, from search to the last status;
    ``message_id`` pairs a request with its callback (the callback reuses it). ``bap_*`` is the buyer
    app, ``bpp_*`` the seller platform; ``*_uri`` is where that party receives messages.
    ``ttl`` (ISO 8601 duration) is how long the request is valid after ``timestamp``.
    """

    domain: str
    location: ContextLocation
    action: str
    version: str
    bap_id: str
    bap_uri: UriStr
    bpp_id: str | None = None
    bpp_uri: UriStr | None = None
    transaction_id: UuidStr
    message_id: UuidStr
    timestamp: DateTimeStr
    key: str | None = None
    ttl: DurationStr | None = None

    @property
    def sent_at(self) -> datetime:
        """``timestamp`` as an aware datetime."""
        return parse_rfc3339(self.timestamp)

    @property
    def ttl_seconds(self) -> float | None:
        """``ttl`` in seconds, or None when the sender gave none."""
        return None if self.ttl is None else duration_seconds(self.ttl)

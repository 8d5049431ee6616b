"""Fulfillment: how an order reaches the buyer (delivery, pickup, service), its stops, state and tracking."""

from __future__ import annotations

from typing import Literal

from .base import BecknModel
from .common import Descriptor, TagGroup, Time
from .location import Location
from .parties import Agent, Contact, Customer, Person

__all__ = [
    "Authorization",
    "Fulfillment",
    "FulfillmentState",
    "Stop",
    "Tracking",
    "Vehicle",
]


class FulfillmentState(BecknModel):
    """The state of a fulfillment; ``descriptor.code`` holds the network's state code (``PACKING``)."""

    descriptor: Descriptor | None = None
    updated_at: str | None = None
    updated_by: str | None = None


class Authorization(BecknModel):
    """A token (an OTP, a QR code) the customer shows at a stop."""

    type: str | None = None
    token: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    status: str | None = None


class Vehicle(BecknModel):
    category: str | None = None
    capacity: int | None = None
    make: str | None = None
    model: str | None = None
    size: str | None = None
    variant: str | None = None
    color: str | None = None
    energy_type: str | None = None
    registration: str | None = None
    wheels_count: str | None = None
    cargo_volumne: str | None = None  # sic: the spelling of the Beckn schema
    wheelchair_access: str | None = None
    code: str | None = None
    emission_standard: str | None = None


class Stop(BecknModel):
    """A place a fulfillment passes through: typically a ``start`` (pickup) and an ``end`` (drop)."""

    id: str | None = None
    parent_stop_id: str | None = None
    location: Location | None = None
    type: str | None = None
    time: Time | None = None
    instructions: Descriptor | None = None
    contact: Contact | None = None
    person: Person | None = None
    authorization: Authorization | None = None


class Fulfillment(BecknModel):
    """How and by whom an order (or part of it) is delivered or performed."""

    id: str | None = None
    type: str | None = None
    rateable: bool | None = None
    rating: str | None = None
    state: FulfillmentState | None = None
    tracking: bool | None = None
    customer: Customer | None = None
    agent: Agent | None = None
    contact: Contact | None = None
    vehicle: Vehicle | None = None
    stops: list[Stop] | None = None
    path: str | None = None
    tags: list[TagGroup] | None = None


class Tracking(BecknModel):
    """Where an active fulfillment is: a tracking URL or a live location."""

    id: str | None = None
    url: str | None = None
    location: Location | None = None
    status: Literal["active", "inactive"] | None = None

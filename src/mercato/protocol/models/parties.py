"""People and organisations: persons, contacts, customers, agents, billing details and support."""

from __future__ import annotations

from .base import BecknModel
from .common import Descriptor, Image, TagGroup, Time
from .location import City, State

__all__ = [
    "Agent",
    "Billing",
    "Contact",
    "Credential",
    "Customer",
    "Language",
    "Organization",
    "Person",
    "Skill",
    "Support",
]


class Contact(BecknModel):
    phone: str | None = None
    email: str | None = None
    jcard: dict[str, object] | None = None


class Credential(BecknModel):
    id: str | None = None
    type: str | None = None
    url: str | None = None


class Language(BecknModel):
    code: str | None = None
    name: str | None = None


class Skill(BecknModel):
    code: str | None = None
    name: str | None = None


class Person(BecknModel):
    id: str | None = None
    url: str | None = None
    name: str | None = None
    image: Image | None = None
    age: str | None = None
    dob: str | None = None
    gender: str | None = None
    creds: list[Credential] | None = None
    languages: list[Language] | None = None
    skills: list[Skill] | None = None
    tags: list[TagGroup] | None = None


class Organization(BecknModel):
    descriptor: Descriptor | None = None
    address: str | None = None
    state: State | None = None
    city: City | None = None
    contact: Contact | None = None


class Customer(BecknModel):
    """The person receiving a fulfillment."""

    person: Person | None = None
    contact: Contact | None = None


class Agent(BecknModel):
    """The person or organisation carrying out a fulfillment (a delivery agent, a technician)."""

    person: Person | None = None
    contact: Contact | None = None
    organization: Organization | None = None
    rating: str | None = None


class Billing(BecknModel):
    """Who pays, and the address on the invoice."""

    name: str | None = None
    organization: Organization | None = None
    address: str | None = None
    state: State | None = None
    city: City | None = None
    email: str | None = None
    phone: str | None = None
    time: Time | None = None
    tax_id: str | None = None


class Support(BecknModel):
    """How to reach support for an order or an item (``ref_id`` names it)."""

    ref_id: str | None = None
    callback_phone: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None

"""Places: countries, states, cities, GPS points, circles and locations."""

from __future__ import annotations

from pydantic import Field

from .base import BecknModel, GpsStr
from .common import Descriptor, Scalar

__all__ = ["Circle", "City", "Country", "Location", "Region", "State"]


class Country(BecknModel):
    """A country; ``code`` is ISO 3166-1 alpha-3 (``IND``)."""

    name: str | None = None
    code: str | None = None


class State(BecknModel):
    name: str | None = None
    code: str | None = None


class City(BecknModel):
    """A city; ``code`` is network-specific (``std:080`` is Bengaluru's STD code in India)."""

    name: str | None = None
    code: str | None = None


class Circle(BecknModel):
    gps: GpsStr | None = None
    radius: Scalar | None = None


class Region(BecknModel):
    dimensions: str | None = None
    type: str | None = None
    name: str | None = None
    code: str | None = None
    boundary: str | None = None
    map_url: str | None = None


class Location(BecknModel):
    """A physical place: a shop, a warehouse, a delivery address, a search area."""

    id: str | None = None
    descriptor: Descriptor | None = None
    map_url: str | None = None
    gps: GpsStr | None = None
    updated_at: str | None = None
    address: str | None = None
    city: City | None = None
    district: str | None = None
    state: State | None = None
    country: Country | None = None
    area_code: str | None = None
    circle: Circle | None = None
    polygon: str | None = None
    space_3d: str | None = Field(default=None, alias="3dspace")
    rating: str | None = None

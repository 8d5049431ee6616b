"""The base of every Beckn model and the string types the protocol uses (decimal, GPS, duration, time).

Every model keeps unknown fields (``extra="allow"``) and serialises them back unchanged: a receiver must
not drop what a sender's extension added. Optional fields default to ``None`` and are left out of the
output (serialise with ``exclude_none=True, by_alias=True``), so a message goes out with exactly the
fields that were set.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "BecknModel",
    "DateTimeStr",
    "DecimalStr",
    "DurationStr",
    "GpsStr",
    "UriStr",
    "UuidStr",
    "duration_seconds",
    "parse_rfc3339",
]


class BecknModel(BaseModel):
    """Base of every Beckn object: unknown fields are kept and re-serialised.

    Validation is strict (no coercion): ``"2"`` is not an integer and ``"true"`` not a boolean, so what is
    re-serialised has the JSON types the sender used, and those are the types of the Beckn schema.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)


DECIMAL_PATTERN: Final = r"^[+-]?([0-9]*[.])?[0-9]+$"
GPS_PATTERN: Final = (
    r"^[-+]?([1-8]?\d(\.\d+)?|90(\.0+)?),\s*[-+]?(180(\.0+)?|((1[0-7]\d)|([1-9]?\d))(\.\d+)?)$"
)
UUID_PATTERN: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

DecimalStr = Annotated[str, Field(pattern=DECIMAL_PATTERN)]
"""A decimal number written as a string (``"1200.50"``), as Beckn sends prices and quantities."""

GpsStr = Annotated[str, Field(pattern=GPS_PATTERN)]
"""``"latitude,longitude"`` in decimal degrees."""

UuidStr = Annotated[str, Field(pattern=UUID_PATTERN)]
"""A UUID in its canonical 36-character text form (any version)."""

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*", re.ASCII)
_DURATION = re.compile(
    r"P(?:(\d{1,9})Y)?(?:(\d{1,9})M)?(?:(\d{1,9})W)?(?:(\d{1,9})D)?"
    r"(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9}(?:[.,]\d{1,9})?)S)?)?",
    re.ASCII,
)

# Nominal lengths for the calendar units (ISO 8601 leaves them to the parties): 365-day years, 30-day months.
_UNIT_SECONDS: Final = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60)


def parse_rfc3339(value: str) -> datetime:
    """An aware datetime from an RFC 3339 timestamp (``2023-11-06T09:41:09.673Z``); ValueError otherwise."""
    if not _RFC3339.fullmatch(value):
        raise ValueError(f"not an RFC 3339 timestamp: {value[:64]!r}")
    text = value.upper()
    # fromisoformat takes at most 6 fractional digits; RFC 3339 allows more.
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[: min(end, dot + 7)] + text[end:]
    return datetime.fromisoformat(text)  # raises ValueError for month 13, hour 25, ...


def duration_seconds(value: str) -> float:
    """Seconds in an ISO 8601 duration (``PT30S``, ``P1D``, ``PT1H30M``, ``P1W``); ValueError otherwise.

    Years count as 365 days and months as 30 days. Only the seconds may carry a fraction.
    """
    m = _DURATION.fullmatch(value)
    if m is None or value in ("P", "") or value.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {value[:64]!r}")
    groups = m.groups()
    if all(g is None for g in groups):
        raise ValueError(f"not an ISO 8601 duration: {value[:64]!r}")
    total = 0.0
    for unit, g in zip(_UNIT_SECONDS, groups[:6], strict=True):
        if g is not None:
            total += int(g) * unit
    if groups[6] is not None:
        total += float(groups[6].replace(",", "."))
    return total


def _check_rfc3339(value: str) -> str:
    parse_rfc3339(value)
    return value


@lru_cache(maxsize=1024)
def _valid_duration(value: str) -> None:
    """Valid durations are remembered (every message's ``ttl`` is one of a few); a bad one raises
    ValueError each time (an exception is never cached)."""
    duration_seconds(value)


def _check_duration(value: str) -> str:
    if len(value) <= 64:
        _valid_duration(value)
    else:
        duration_seconds(value)
    return value


def _check_uri(value: str) -> str:
    if not _URI.fullmatch(value):
        raise ValueError(f"not an absolute URI: {value[:64]!r}")
    return value


DateTimeStr = Annotated[str, AfterValidator(_check_rfc3339)]
"""An RFC 3339 timestamp, kept as the string the sender wrote."""

DurationStr = Annotated[str, AfterValidator(_check_duration)]
"""An ISO 8601 duration such as ``PT30S``, kept as the string the sender wrote."""

UriStr = Annotated[str, AfterValidator(_check_uri)]
"""An absolute URI (``https://seller.example/beckn``)."""

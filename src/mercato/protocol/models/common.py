"""Objects used everywhere: descriptors and media, tags (the extension mechanism), time, quantities,
prices and fees, options, forms, ratings, the error and the acknowledgement."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import BecknModel, DecimalStr

__all__ = [
    "Ack",
    "AdditionalDesc",
    "Descriptor",
    "Domain",
    "Error",
    "Fee",
    "Form",
    "FormResponse",
    "Image",
    "MediaFile",
    "Option",
    "Price",
    "Rating",
    "Scalar",
    "ScalarRange",
    "Schedule",
    "Tag",
    "TagGroup",
    "Time",
    "TimeRange",
    "XInput",
    "XInputHead",
    "XInputIndex",
]


class MediaFile(BecknModel):
    """A file (document, video, ...) by URL, optionally signed."""

    mimetype: str | None = None
    url: str | None = None
    signature: str | None = None
    dsa: str | None = None


class Domain(BecknModel):
    """A network domain (``retail:1.1.0``, ``ONDC:RET10``); messages carry only its code."""

    name: str | None = None
    code: str | None = None
    additional_info: MediaFile | None = None


class Image(BecknModel):
    url: str | None = None
    size_type: Literal["xs", "sm", "md", "lg", "xl", "custom"] | None = None
    width: str | None = None
    height: str | None = None


class AdditionalDesc(BecknModel):
    url: str | None = None
    content_type: Literal["text/plain", "text/html", "application/json"] | None = None


class Descriptor(BecknModel):
    """Name, code, descriptions and media of any entity (item, provider, tag, state, ...)."""

    name: str | None = None
    code: str | None = None
    short_desc: str | None = None
    long_desc: str | None = None
    additional_desc: AdditionalDesc | None = None
    media: list[MediaFile] | None = None
    images: list[Image] | None = None


class Tag(BecknModel):
    """One key/value pair of a tag group: the key is ``descriptor.code``."""

    descriptor: Descriptor | None = None
    value: str | None = None
    display: bool | None = None


class TagGroup(BecknModel):
    """A named list of tags: how Beckn carries domain- and network-specific extensions."""

    display: bool | None = None
    descriptor: Descriptor | None = None
    list_: list[Tag] | None = Field(default=None, alias="list")


class ScalarRange(BecknModel):
    min: DecimalStr | None = None
    max: DecimalStr | None = None


class Scalar(BecknModel):
    """A measured quantity: ``{"value": "500", "unit": "gram"}``."""

    type: Literal["CONSTANT", "VARIABLE"] | None = None
    value: DecimalStr | None = None
    estimated_value: DecimalStr | None = None
    computed_value: DecimalStr | None = None
    range: ScalarRange | None = None
    unit: str | None = None


class Schedule(BecknModel):
    frequency: str | None = None
    holidays: list[str] | None = None
    times: list[str] | None = None


class TimeRange(BecknModel):
    start: str | None = None
    end: str | None = None


class Time(BecknModel):
    """A point in time, a duration (ISO 8601), a range, days of the week or a schedule."""

    label: str | None = None
    timestamp: str | None = None
    duration: str | None = None
    range: TimeRange | None = None
    days: str | None = None
    schedule: Schedule | None = None


class Price(BecknModel):
    """An amount of money. Values are decimal strings in major units (``"1200.50"``), never floats."""

    currency: str | None = None
    value: DecimalStr | None = None
    estimated_value: DecimalStr | None = None
    computed_value: DecimalStr | None = None
    listed_value: DecimalStr | None = None
    offered_value: DecimalStr | None = None
    minimum_value: DecimalStr | None = None
    maximum_value: DecimalStr | None = None


class Fee(BecknModel):
    """A fee as a percentage of the order value or as a fixed amount."""

    percentage: DecimalStr | None = None
    amount: Price | None = None


class Option(BecknModel):
    """One choice from a list (for instance a cancellation reason)."""

    id: str | None = None
    descriptor: Descriptor | None = None


class Form(BecknModel):
    """A form the buyer must fill in, fetched from ``url`` or carried in ``data``."""

    id: str | None = None
    url: str | None = None
    data: dict[str, str] | None = None
    mime_type: Literal["text/html", "application/html", "application/xml"] | None = None
    resubmit: bool | None = None
    multiple_sumbissions: bool | None = None  # sic: the spelling of the Beckn schema


class Error(BecknModel):
    """The Beckn error object, sent with a NACK or in a callback."""

    code: str | None = None
    paths: str | None = None
    message: str | None = None


class XInputIndex(BecknModel):
    min: int | None = None
    cur: int | None = None
    max: int | None = None


class XInputHead(BecknModel):
    descriptor: Descriptor | None = None
    index: XInputIndex | None = None
    headings: list[str] | None = None


class FormResponse(BecknModel):
    status: str | None = None
    signature: str | None = None
    submission_id: str | None = None
    errors: list[Error] | None = None


class XInput(BecknModel):
    """Extra input a seller asks of the buyer (KYC, customisation, feedback) through forms."""

    head: XInputHead | None = None
    form: Form | None = None
    form_response: FormResponse | None = None
    required: bool | None = None


class Rating(BecknModel):
    """A rating the buyer gives to an item, order, fulfillment, provider, agent or support."""

    rating_category: Literal["Item", "Order", "Fulfillment", "Provider", "Agent", "Support"] | None = None
    id: str | None = None
    value: str | None = None


class Ack(BecknModel):
    """The synchronous acknowledgement of a request: ACK (will answer by callback) or NACK."""

    status: Literal["ACK", "NACK"]
    tags: list[TagGroup] | None = None

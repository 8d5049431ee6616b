"""Signed catalog publications: what a seller (BPP) pushes to a gateway's catalog index, and how
anyone checks an index result against the seller's key. Pure: no I/O.

A *publication* is one JSON document, sent as the body of ``POST {gateway}/catalog/publish`` and
signed in ``Authorization`` by the seller exactly like a Beckn message (same header, same
BLAKE-512 digest over the exact bytes)::

    {"format": "mercato.catalog/1",
     "bpp_id": "seller.example.org", "bpp_uri": "https://seller.example.org/beckn",
     "domain": "ONDC:RET10", "cities": ["std:080"],
     "version": 7, "kind": "snapshot",            # or "delta" with "base_version": 6
     "published_at": "2026-01-05T10:00:00.000Z",
     "catalog": {"descriptor": {...}, "providers": [{"id": "p1", "locations": [...],
                 "categories": [...], "items": [{"id": "i1", "descriptor": {...}, "price": {...}}]}]},
     "removed": [{"provider_id": "p1", "item_id": "i9"}]}   # deltas only

* ``version`` is a positive integer that grows with every publication of the seller.
* A ``snapshot`` replaces everything the gateway holds for the seller.
* A ``delta`` builds on ``base_version`` (the version the gateway must hold now): its providers'
  items are added or replaced whole, ``removed`` items are deleted. A provider entry in a delta
  carries its locations and categories again; only the items are incremental.

The gateway keeps the exact bytes and header of every publication that an indexed item comes
from, and hands them to buyers with the result (:func:`attestation_tag`), so a buyer app verifies
an index result itself (:func:`verify_attestation`): the gateway never owns prices or stock.

The buyer chooses how a ``search`` is answered with a tag group in ``message.intent.tags``
(:func:`search_mode_tag`, :func:`read_search_mode`): ``index``, ``broadcast`` or ``both``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from .models import Catalog
from .models.base import parse_rfc3339
from .signing import SignatureError, SignatureHeader, parse_header, sign, verify

FORMAT: Final = "mercato.catalog/1"
KINDS: Final = ("snapshot", "delta")
MAX_VERSION: Final = 2**62
ATTESTATION_CODE: Final = "mercato:attestation"
SEARCH_TAG_CODE: Final = "mercato"
SEARCH_MODES: Final = ("index", "broadcast", "both")
#: minor-unit exponents of currencies that do not use 2 (ISO 4217); every other code uses 2
_EXPONENTS: Final[dict[str, int]] = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3}
_TOKEN: Final = re.compile(r"[^\W_]+", re.UNICODE)

Kind = Literal["snapshot", "delta"]


class PublishError(ValueError):
    """A publication that cannot be accepted; ``path`` names the offending field."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


@dataclass(frozen=True, slots=True)
class ItemRef:
    provider_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class Publication:
    """A parsed, validated publication (the raw bytes stay with the caller)."""

    bpp_id: str
    bpp_uri: str
    domain: str
    cities: tuple[str, ...]
    version: int
    kind: Kind
    base_version: int | None
    published_at: str
    catalog: dict[str, Any]
    removed: tuple[ItemRef, ...]


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One item as the index stores it. ``price_minor`` is None when the item has no price."""

    provider_id: str
    item_id: str
    name: str
    description: str
    category_ids: tuple[str, ...]
    category_names: tuple[str, ...]
    cities: tuple[str, ...]
    price_minor: int | None
    currency: str | None
    item: dict[str, Any]
    provider: dict[str, Any]  # the provider entry without its items


# --- building (the seller's side) -----------------------------------------------------------------


def build_publication(
    *,
    bpp_id: str,
    bpp_uri: str,
    domain: str,
    cities: Sequence[str],
    version: int,
    catalog: Mapping[str, Any],
    published_at: str,
    kind: Kind = "snapshot",
    base_version: int | None = None,
    removed: Sequence[ItemRef] = (),
) -> bytes:
    """The publication's exact bytes (checked by :func:`parse_publication` before returning)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "bpp_id": bpp_id,
        "bpp_uri": bpp_uri,
        "domain": domain,
        "cities": list(cities),
        "version": version,
        "kind": kind,
        "published_at": published_at,
        "catalog": dict(catalog),
    }
    if kind == "delta":
        doc["base_version"] = base_version
        doc["removed"] = [{"provider_id": r.provider_id, "item_id": r.item_id} for r in removed]
    body = orjson.dumps(doc)
    parse_publication(body)
    return body


def sign_publication(
    body: bytes, key: Ed25519PrivateKey, bpp_id: str, unique_key_id: str, *, validity_s: int = 300
) -> dict[str, str]:
    """Headers for ``POST /catalog/publish``: ``Authorization`` over the exact bytes."""
    return {
        "Content-Type": "application/json",
        "Authorization": sign(body, key, bpp_id, unique_key_id, validity_s=validity_s),
    }


# --- parsing (the gateway's side) -----------------------------------------------------------------


def _str(doc: Mapping[str, Any], name: str, *, max_len: int = 2048) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise PublishError(f"{name} must be a non-empty string of at most {max_len} characters", name)
    return value


def _version(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < MAX_VERSION:
        raise PublishError(f"{name} must be a positive integer", name)
    return value


def parse_publication(body: bytes) -> Publication:
    """Check a publication's structure and its Beckn catalog. Raises :class:`PublishError`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PublishError(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PublishError("the body must be a JSON object")
    if doc.get("format") != FORMAT:
        raise PublishError(f"format must be {FORMAT!r}", "format")
    bpp_id = _str(doc, "bpp_id", max_len=255)
    bpp_uri = _str(doc, "bpp_uri")
    if not bpp_uri.startswith(("http://", "https://")):
        raise PublishError("bpp_uri must be an http(s) URL", "bpp_uri")
    domain = _str(doc, "domain", max_len=255)
    cities = doc.get("cities")
    if (
        not isinstance(cities, list)
        or not cities
        or not all(isinstance(c, str) and c and len(c) <= 64 for c in cities)
    ):
        raise PublishError("cities must be a non-empty list of city codes", "cities")
    version = _version(doc, "version")
    kind = doc.get("kind")
    if kind not in KINDS:
        raise PublishError("kind must be 'snapshot' or 'delta'", "kind")
    published_at = _str(doc, "published_at", max_len=64)
    try:
        parse_rfc3339(published_at)
    except ValueError:
        raise PublishError("published_at must be an RFC 3339 date-time", "published_at") from None
    base_version: int | None = None
    removed: list[ItemRef] = []
    if kind == "delta":
        base_version = _version(doc, "base_version")
        if base_version >= version:
            raise PublishError("a delta's version must be greater than its base_version", "version")
        raw_removed = doc.get("removed", [])
        if not isinstance(raw_removed, list):
            raise PublishError("removed must be a list", "removed")
        for i, r in enumerate(raw_removed):
            if not isinstance(r, dict) or not all(
                isinstance(r.get(k), str) and r.get(k) for k in ("provider_id", "item_id")
            ):
                raise PublishError("each removed entry names provider_id and item_id", f"removed[{i}]")
            removed.append(ItemRef(r["provider_id"], r["item_id"]))
    elif "base_version" in doc or "removed" in doc:
        raise PublishError("a snapshot has no base_version or removed", "kind")
    catalog = doc.get("catalog")
    if not isinstance(catalog, dict):
        raise PublishError("catalog must be a Beckn Catalog object", "catalog")
    _check_catalog(catalog)
    return Publication(
        bpp_id=bpp_id,
        bpp_uri=bpp_uri,
        domain=domain,
        cities=tuple(cities),
        version=version,
        kind=kind,
        base_version=base_version,
        published_at=published_at,
        catalog=catalog,
        removed=tuple(removed),
    )


def _check_catalog(catalog: dict[str, Any]) -> None:
    try:
        Catalog.model_validate(catalog)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "catalog." + ".".join(str(p) for p in err["loc"])
        raise PublishError(f"catalog is not a Beckn Catalog: {err['msg']}", path) from None
    providers = catalog.get("providers") or []
    seen_p: set[str] = set()
    for pi, provider in enumerate(providers):
        pid = provider.get("id")
        if not isinstance(pid, str) or not pid:
            raise PublishError("every provider needs an id", f"catalog.providers[{pi}].id")
        if pid in seen_p:
            raise PublishError(f"provider {pid!r} appears twice", f"catalog.providers[{pi}].id")
        seen_p.add(pid)
        seen_i: set[str] = set()
        for ii, item in enumerate(provider.get("items") or []):
            iid = item.get("id")
            where = f"catalog.providers[{pi}].items[{ii}]"
            if not isinstance(iid, str) or not iid:
                raise PublishError("every item needs an id", where + ".id")
            if iid in seen_i:
                raise PublishError(f"item {iid!r} appears twice in provider {pid!r}", where + ".id")
            seen_i.add(iid)
            price = item.get("price")
            if price is not None:
                try:
                    to_minor(price.get("value"), price.get("currency"))
                except ValueError as exc:
                    raise PublishError(str(exc), where + ".price") from None


def to_minor(value: object, currency: object) -> int:
    """``"129.50"`` INR -> 12950. Raises ValueError for a missing or over-precise amount."""
    if not isinstance(value, str) or not isinstance(currency, str) or not currency:
        raise ValueError("a price needs a decimal string value and a currency")
    exp = _EXPONENTS.get(currency.upper(), 2)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"price value {value[:32]!r} is not a decimal") from None
    scaled = amount.scaleb(exp)
    if scaled != scaled.to_integral_value() or not amount.is_finite():
        raise ValueError(f"price {value[:32]!r} has more than {exp} decimals for {currency}")
    return int(scaled)


def index_entries(pub: Publication) -> list[IndexEntry]:
    """Every item of the publication, with what the index filters and searches on."""
    out: list[IndexEntry] = []
    for provider in pub.catalog.get("providers") or []:
        cities_by_loc: dict[str, str] = {}
        for loc in provider.get("locations") or []:
            city = (loc.get("city") or {}).get("code")
            if isinstance(loc.get("id"), str) and isinstance(city, str):
                cities_by_loc[loc["id"]] = city
        cat_names = {
            c["id"]: (c.get("descriptor") or {}).get("name") or ""
            for c in provider.get("categories") or []
            if isinstance(c.get("id"), str)
        }
        bare = {k: v for k, v in provider.items() if k != "items"}
        for item in provider.get("items") or []:
            desc = item.get("descriptor") or {}
            cat_ids = tuple(str(c) for c in item.get("category_ids") or ())
            item_cities = tuple(
                sorted({cities_by_loc[lid] for lid in item.get("location_ids") or () if lid in cities_by_loc})
            )
            price = item.get("price")
            minor = currency = None
            if price is not None:
                currency = str(price["currency"]).upper()
                minor = to_minor(price["value"], currency)
            out.append(
                IndexEntry(
                    provider_id=provider["id"],
                    item_id=item["id"],
                    name=str(desc.get("name") or ""),
                    description=" ".join(str(desc.get(k) or "") for k in ("short_desc", "long_desc")).strip(),
                    category_ids=cat_ids,
                    category_names=tuple(cat_names.get(c, "") for c in cat_ids if cat_names.get(c)),
                    cities=item_cities or pub.cities,
                    price_minor=minor,
                    currency=currency,
                    item=item,
                    provider=bare,
                )
            )
    return out


def text_tokens(text: str) -> list[str]:
    """Words (runs of letters and digits), lower-cased: how both index backends split text."""
    return [t.lower() for t in _TOKEN.findall(text)]


def search_terms(text: str) -> list[str]:
    """The words of a free-text query (at most 16)."""
    return text_tokens(text)[:16]


# --- attestations (what a buyer checks) ------------------------------------------------------------


def attestation_tag(
    *, bpp_id: str, bpp_uri: str, version: int, kind: str, body: bytes, authorization: str
) -> dict[str, Any]:
    """The tag group attached to a provider of an index result: the exact publication bytes
    (base64) and the seller's ``Authorization`` over them."""
    pairs = (
        ("bpp_id", bpp_id),
        ("bpp_uri", bpp_uri),
        ("catalog_version", str(version)),
        ("kind", kind),
        ("authorization", authorization),
        ("publication", base64.b64encode(body).decode("ascii")),
    )
    return {
        "descriptor": {"code": ATTESTATION_CODE},
        "list": [{"descriptor": {"code": k}, "value": v} for k, v in pairs],
    }


@dataclass(frozen=True, slots=True)
class Attestation:
    bpp_id: str
    version: int
    signature: SignatureHeader
    body: bytes
    publication: Publication

    def item(self, provider_id: str, item_id: str) -> dict[str, Any] | None:
        """The item exactly as the seller published it, or None if this publication lacks it."""
        for provider in self.publication.catalog.get("providers") or []:
            if provider.get("id") == provider_id:
                for item in provider.get("items") or []:
                    if item.get("id") == item_id:
                        return dict(item)
        return None


def read_attestation(tag_group: Mapping[str, Any]) -> tuple[SignatureHeader, bytes]:
    """The seller's signature header and the publication bytes of an attestation tag group."""
    if (tag_group.get("descriptor") or {}).get("code") != ATTESTATION_CODE:
        raise PublishError("not a mercato:attestation tag group")
    values = {
        (t.get("descriptor") or {}).get("code"): t.get("value")
        for t in tag_group.get("list") or []
        if isinstance(t, Mapping)
    }
    auth, pub = values.get("authorization"), values.get("publication")
    if not isinstance(auth, str) or not isinstance(pub, str):
        raise PublishError("the attestation lacks authorization or publication")
    try:
        return parse_header(auth), base64.b64decode(pub, validate=True)
    except (SignatureError, ValueError) as exc:
        raise PublishError(f"malformed attestation: {exc}") from None


def verify_attestation(tag_group: Mapping[str, Any], signing_public_key: str) -> Attestation:
    """Check an attestation with the seller's signing public key (from the registry, for the
    ``keyId`` in the header): the signature over the exact bytes, made by the publication's own
    ``bpp_id``. The time checked is the signature's ``created`` (a publication stays attested
    after its transport signature expires; judge freshness by ``published_at`` and version).
    Raises :class:`PublishError` or :class:`mercato.protocol.signing.SignatureError`."""
    header, body = read_attestation(tag_group)
    pub = parse_publication(body)
    verify(header, body, signing_public_key, now=header.created, expected_subscriber_id=pub.bpp_id)
    return Attestation(pub.bpp_id, pub.version, header, body, pub)


# --- the search mode tag --------------------------------------------------------------------------


def search_mode_tag(mode: str) -> dict[str, Any]:
    """The tag group for ``message.intent.tags`` choosing how a gateway answers a search."""
    if mode not in SEARCH_MODES:
        raise ValueError(f"mode must be one of {SEARCH_MODES}")
    return {
        "descriptor": {"code": SEARCH_TAG_CODE},
        "list": [{"descriptor": {"code": "mode"}, "value": mode}],
    }


def read_search_mode(tags: Sequence[Mapping[str, Any]] | None, default: str = "broadcast") -> str:
    """The mode a search asks for (``default`` without the tag). Raises ValueError for an unknown
    mode, so a typo is refused rather than silently broadcast."""
    for group in tags or ():
        if (group.get("descriptor") or {}).get("code") != SEARCH_TAG_CODE:
            continue
        for tag in group.get("list") or ():
            if (tag.get("descriptor") or {}).get("code") == "mode":
                value = tag.get("value")
                if value not in SEARCH_MODES:
                    raise ValueError(f"intent tag mercato.mode must be one of {', '.join(SEARCH_MODES)}")
                return str(value)
    return default

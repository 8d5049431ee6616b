"""The book of one pool as a coordinator keeps it: signed offers, signed commitments, revocations.

Every coordinator — a manufacturer's node clearing its own pool, or ``mercato pool serve`` for a
pool across manufacturers — keeps the same book and answers the same questions with it: may this
commitment be admitted or revoked, how far is each offer, and what exactly goes into the clearing.
Signature checks happen before (the caller looks the signer's key up in the registry); the book
checks everything else. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from mercato.pools.clearing import Clearing, clear
from mercato.pools.model import PoolInputError, parse_pool
from mercato.pools.offers import PoolOffer, Progress, offer_from_doc, progress
from mercato.pools.signed import (
    CommitmentDoc,
    Signed,
    canonical,
    commitment_from_doc,
    parse_time,
    rfc3339,
)
from mercato.protocol.signing import digest

OPEN, CLEARED = "open", "cleared"


@dataclass
class PoolBook:
    pool: str
    offers: dict[str, tuple[PoolOffer, Signed]] = field(default_factory=dict)
    commitments: dict[str, tuple[CommitmentDoc, Signed]] = field(default_factory=dict)
    revoked: dict[str, Signed] = field(default_factory=dict)
    cleared: bool = False

    # -- offers --------------------------------------------------------------------------------

    @property
    def deadline(self) -> datetime | None:
        return min((o.deadline for o, _ in self.offers.values()), default=None)

    @property
    def currency(self) -> str | None:
        return next((o.currency for o, _ in self.offers.values()), None)

    def add_offer(self, signed: Signed) -> PoolOffer:
        """Admit (or replace, before any commitment names it) a signed offer of this pool."""
        doc = signed.doc
        if doc.get("kind") != "offer":
            raise PoolInputError(["an offer document has kind 'offer'"])
        offer = offer_from_doc(doc.get("offer"))
        problems = []
        if offer.pool != self.pool:
            problems.append(f"offer {offer.id!r} belongs to pool {offer.pool!r}, not {self.pool!r}")
        if signed.signer != offer.bpp_id:
            problems.append(f"offer {offer.id!r} must be signed by its seller {offer.bpp_id!r}")
        if self.cleared:
            problems.append(f"pool {self.pool!r} is already cleared")
        cur = self.currency
        if cur is not None and offer.id not in self.offers and offer.currency != cur:
            problems.append(f"offer {offer.id!r}: currency {offer.currency} differs from the pool's {cur}")
        others = [o for o, _ in self.offers.values() if o.id != offer.id]
        if others and any(o.deadline != offer.deadline for o in others):
            problems.append(
                f"offer {offer.id!r}: deadline {rfc3339(offer.deadline)} differs from the pool's "
                f"{rfc3339(others[0].deadline)}"
            )
        same_maker = [o for o in others if o.bpp_id == offer.bpp_id]
        if same_maker and any(o.manufacturer_capacity != offer.manufacturer_capacity for o in same_maker):
            problems.append(f"offer {offer.id!r}: manufacturer_capacity differs from its other offers")
        if offer.id in self.offers and any(offer.id in c.offers for c, _ in self.live()):
            problems.append(f"offer {offer.id!r} already has commitments and can no longer change")
        if problems:
            raise PoolInputError(problems)
        self.offers[offer.id] = (offer, signed)
        return offer

    # -- commitments ---------------------------------------------------------------------------

    def live(self) -> list[tuple[CommitmentDoc, Signed]]:
        return [v for cid, v in sorted(self.commitments.items()) if cid not in self.revoked]

    def admit(self, signed: Signed, now: datetime) -> CommitmentDoc:
        """Admit a signed commitment (signature already checked); PoolInputError says why not."""
        c = commitment_from_doc(signed.doc)
        problems = []
        if signed.signer != c.bap_id:
            problems.append(
                f"commitment {c.id!r} is signed by {signed.signer!r}, not its buyer app {c.bap_id!r}"
            )
        if c.pool != self.pool:
            problems.append(f"commitment {c.id!r} is for pool {c.pool!r}, not {self.pool!r}")
        if c.id in self.commitments:
            problems.append(f"commitment {c.id!r} was already received")
        for oid in c.offers:
            if oid not in self.offers:
                problems.append(f"commitment {c.id!r}: unknown offer {oid!r} (not in pool {self.pool!r})")
        cur = self.currency
        if cur is not None and c.currency != cur:
            problems.append(f"commitment {c.id!r}: currency {c.currency} differs from the pool's {cur}")
        deadline = self.deadline
        if self.cleared or (deadline is not None and now >= deadline):
            problems.append(f"pool {self.pool!r} is closed: its deadline has passed")
        if c.expires_at <= now:
            problems.append(f"commitment {c.id!r} expired at {rfc3339(c.expires_at)}")
        elif deadline is not None and c.expires_at <= deadline:
            problems.append(
                f"commitment {c.id!r} expires at {rfc3339(c.expires_at)}, before the pool's deadline "
                f"{rfc3339(deadline)}: it would never be cleared"
            )
        if problems:
            raise PoolInputError(problems)
        self.commitments[c.id] = (c, signed)
        return c

    def revoke(self, signed: Signed, now: datetime) -> str:
        """Revoke a commitment with a signed revocation from the same buyer app, before the deadline."""
        doc = signed.doc
        problems: list[str] = []
        cid = doc.get("commitment")
        if doc.get("kind") != "revocation" or not isinstance(cid, str):
            raise PoolInputError(["a revocation has kind 'revocation' and a 'commitment' id"])
        parse_time(doc.get("created_at"), "revocation created_at", problems)
        got = self.commitments.get(cid)
        if got is None:
            problems.append(f"unknown commitment {cid!r}")
        elif got[0].bap_id != signed.signer or doc.get("bap_id") != signed.signer:
            problems.append(f"commitment {cid!r} can only be revoked by its buyer app {got[0].bap_id!r}")
        elif cid in self.revoked:
            problems.append(f"commitment {cid!r} is already revoked")
        deadline = self.deadline
        if self.cleared or (deadline is not None and now >= deadline):
            problems.append(f"pool {self.pool!r} is closed: commitments can no longer be revoked")
        if problems:
            raise PoolInputError(problems)
        self.revoked[cid] = signed
        return cid

    def progress(self) -> list[Progress]:
        live = [(c.quantity, c.offers) for c, _ in self.live()]
        return [progress(o, live) for _, (o, _s) in sorted(self.offers.items())]

    # -- clearing ------------------------------------------------------------------------------

    def clearing_input(self, cleared_at: datetime) -> dict[str, Any]:
        """The published input: the clearing model's format plus every signed document behind it."""
        makers: dict[str, int] = {}
        for o, _ in self.offers.values():
            makers[o.bpp_id] = o.manufacturer_capacity
        live = [(c, s) for c, s in self.live() if c.expires_at > cleared_at]
        return {
            "pool": self.pool,
            "cleared_at": rfc3339(cleared_at),
            "currency": self.currency or "",
            "manufacturers": [{"id": m, "capacity": cap} for m, cap in sorted(makers.items())],
            "offers": [
                {**o.to_doc(), "id": o.id, "manufacturer": o.bpp_id}
                for _, (o, _s) in sorted(self.offers.items())
            ],
            "commitments": [c.to_model() for c, _ in live],
            "signed": {
                "offers": [s.to_json() for _, (_o, s) in sorted(self.offers.items())],
                "commitments": [s.to_json() for _, (_c, s) in sorted(self.commitments.items())],
                "revocations": [s.to_json() for _, s in sorted(self.revoked.items())],
            },
        }


def input_digest(doc: dict[str, Any]) -> str:
    """BLAKE2b-512 (base64) of the canonical input: binds a result to the exact input it cleared."""
    return digest(canonical(doc))


def run_clearing(doc: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """Clear a published input (validated first: clearing never runs on invalid input)."""
    pool = parse_pool(doc)
    result: Clearing = clear(pool, time_limit=time_limit)
    out = result.to_dict()
    out["pool"] = doc.get("pool")
    out["cleared_at"] = doc.get("cleared_at")
    out["input_digest"] = input_digest(doc)
    return out


def result_bytes(result: dict[str, Any]) -> bytes:
    return orjson.dumps(result, option=orjson.OPT_SORT_KEYS)

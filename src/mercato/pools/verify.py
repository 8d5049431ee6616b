"""Checking a published clearing: the inputs are what was signed, and the result is what they clear to.

``verify(input, result)`` (what ``mercato pool verify`` runs):

1. every signed offer, commitment and revocation verifies with its published key, over the
   canonical bytes of its published document, as of its own signing time;
2. the clearing input is exactly what the signed documents say: the same offers (terms and
   manufacturer capacities), and the commitments that were signed, not revoked and not expired at
   ``cleared_at`` — none added, none dropped, none changed;
3. the input is valid (the clearing never runs on invalid input);
4. the result names this input (``input_digest``), is feasible, its objective is the surplus it
   claims, and re-running the deterministic clearing gives the same result.

Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mercato.pools.book import input_digest, run_clearing
from mercato.pools.clearing import Assignment, check, surplus_of
from mercato.pools.model import PoolInputError, parse_pool
from mercato.pools.offers import offer_from_doc
from mercato.pools.signed import Signed, check_signature, commitment_from_doc, parse_time
from mercato.protocol.signing import SignatureError, parse_header

COMPARED = ("objective", "runs", "accepted", "rejected", "status", "solver")


@dataclass
class Verdict:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "checked": self.checked}


def _signed(entries: Any, kind: str, verdict: Verdict) -> list[Signed]:
    out: list[Signed] = []
    for i, raw in enumerate(entries if isinstance(entries, list) else []):
        try:
            s = Signed.from_json(raw)
            header = parse_header(s.signature)
            check_signature(s, s.public_key, now=float(header.created))
        except (PoolInputError, SignatureError) as exc:
            verdict.fail(f"signed {kind} {i}: signature does not verify: {exc}")
            continue
        out.append(s)
    verdict.checked[f"signed_{kind}s"] = len(out)
    return out


def _check_inputs(doc: dict[str, Any], verdict: Verdict) -> None:
    signed = doc.get("signed")
    if not isinstance(signed, dict):
        verdict.fail(
            "the input has no 'signed' section: nothing proves where the offers and commitments came from"
        )
        return
    offers = _signed(signed.get("offers"), "offer", verdict)
    commitments = _signed(signed.get("commitments"), "commitment", verdict)
    revocations = _signed(signed.get("revocations"), "revocation", verdict)
    cleared_at = parse_time(doc.get("cleared_at"), "cleared_at", [])
    # offers: same terms as signed, signed by their seller
    published = {o.get("id"): o for o in doc.get("offers", []) if isinstance(o, dict)}
    makers: dict[str, int] = {}
    seen_offers = set()
    for s in offers:
        try:
            offer = offer_from_doc(s.doc.get("offer"))
        except PoolInputError as exc:
            verdict.fail(f"signed offer: {exc}")
            continue
        if s.signer != offer.bpp_id:
            verdict.fail(f"offer {offer.id!r} is signed by {s.signer!r}, not its seller")
        seen_offers.add(offer.id)
        makers[offer.bpp_id] = offer.manufacturer_capacity
        p = published.get(offer.id)
        expected = {**offer.to_doc(), "manufacturer": offer.bpp_id}
        if p is None:
            verdict.fail(f"offer {offer.id!r} was signed but is missing from the input")
        elif any(p.get(k) != v for k, v in expected.items()):
            verdict.fail(f"offer {offer.id!r} in the input differs from what its seller signed")
    for oid in published:
        if oid not in seen_offers:
            verdict.fail(f"offer {oid!r} is in the input but no signed offer backs it")
    got_makers = {m.get("id"): m.get("capacity") for m in doc.get("manufacturers", []) if isinstance(m, dict)}
    if got_makers != makers:
        verdict.fail(f"manufacturer capacities {got_makers} differ from the signed offers' {makers}")
    # commitments: signed, by their buyer app, not revoked, not expired -> exactly the input's
    revoked: dict[str, str] = {}
    for s in revocations:
        cid = s.doc.get("commitment")
        if isinstance(cid, str):
            revoked[cid] = s.signer
    expected_c: dict[str, dict[str, Any]] = {}
    for s in commitments:
        try:
            c = commitment_from_doc(s.doc)
        except PoolInputError as exc:
            verdict.fail(f"signed commitment: {exc}")
            continue
        if s.signer != c.bap_id:
            verdict.fail(f"commitment {c.id!r} is signed by {s.signer!r}, not its buyer app {c.bap_id!r}")
            continue
        if c.pool != doc.get("pool"):
            verdict.fail(f"commitment {c.id!r} is for pool {c.pool!r}, not {doc.get('pool')!r}")
            continue
        if revoked.get(c.id) == c.bap_id:
            continue
        if cleared_at is not None and c.expires_at <= cleared_at:
            continue
        if cleared_at is not None and c.created_at > cleared_at:
            verdict.fail(f"commitment {c.id!r} was signed after the clearing time")
            continue
        expected_c[c.id] = c.to_model()
    given = {c.get("id"): c for c in doc.get("commitments", []) if isinstance(c, dict)}
    for cid, want in sorted(expected_c.items()):
        if cid not in given:
            verdict.fail(
                f"commitment {cid!r} was signed, not revoked, not expired, but left out of the input"
            )
        elif {k: given[cid].get(k) for k in want} != want:
            verdict.fail(f"commitment {cid!r} in the input differs from what its buyer app signed")
    for cid in given:
        if cid not in expected_c:
            verdict.fail(f"commitment {cid!r} is in the input without a valid, unrevoked signed commitment")


def _assignment(result: dict[str, Any]) -> Assignment:
    runs = {r["offer"]: r["tier"] for r in result.get("runs", [])}
    ids: dict[str, list[str]] = defaultdict(list)
    for a in result.get("accepted", []):
        ids[a["offer"]].append(a["commitment"])
    return {oid: (runs.get(oid, 0), sorted(cids)) for oid, cids in ids.items()}


def verify(doc: Any, result: Any, *, time_limit: float = 10.0, signatures: bool = True) -> Verdict:
    """Confirm or refute ``result`` as the clearing of ``doc`` (see the module docstring)."""
    verdict = Verdict()
    if not isinstance(doc, dict) or not isinstance(result, dict):
        verdict.fail("the input and the result must both be JSON objects")
        return verdict
    if signatures:
        _check_inputs(doc, verdict)
    try:
        pool = parse_pool(doc)
    except PoolInputError as exc:
        for p in exc.problems:
            verdict.fail(f"invalid input: {p}")
        return verdict
    verdict.checked["offers"] = len(pool.offers)
    verdict.checked["commitments"] = len(pool.commitments)
    if (signatures or "input_digest" in result) and result.get("input_digest") != input_digest(doc):
        verdict.fail(
            "the result's input_digest does not match this input: it is the clearing of another input"
        )
    try:
        assignment = _assignment(result)
        infeasible = check(pool, assignment)
        surplus = surplus_of(pool, assignment)
    except (KeyError, TypeError, IndexError) as exc:
        verdict.fail(f"the result names an offer, tier or commitment that is not in the input: {exc}")
        return verdict
    for p in infeasible:
        verdict.fail(f"the result is infeasible: {p}")
    if surplus != result.get("objective"):
        verdict.fail(
            f"the result claims objective {result.get('objective')} but its assignment gives {surplus}"
        )
    again = run_clearing(doc, time_limit)
    for key in COMPARED:
        if again.get(key) != result.get(key):
            verdict.fail(
                f"re-running the clearing gives a different {key!r}"
                + (
                    " (the re-run stopped at the time limit: try a larger --time-limit)"
                    if again.get("status") == "time_limit"
                    else ""
                )
            )
    verdict.checked["accepted"] = len(result.get("accepted", []))
    return verdict

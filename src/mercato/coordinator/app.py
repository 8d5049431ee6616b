"""The coordinator's HTTP surface and state.

State is an append-only JSON-lines log (``pools.jsonl`` in the data folder): every signed offer,
commitment and revocation exactly as received (with the key it verified with), and every clearing.
Replaying the log rebuilds the pools' books, so a restart loses nothing and the log itself is the
published record. Routes (the same as a manufacturer's node serves for its own pools):

* ``POST /pool/offers`` (signed by a BPP), ``POST /pool/commitments`` and ``POST /pool/revocations``
  (signed by a BAP): canonical JSON bodies, ``Authorization: Signature ...``;
* ``GET /pool/{pool}`` (offers with live progress), ``GET /pool/commitments/{id}`` (its state or the
  reason it was rejected), ``GET /pool/{pool}/input`` and ``GET /pool/{pool}/result`` (published);
* ``GET /pools``, ``GET /health``; ``POST /pool/{pool}/clear`` (clear now; bearer admin token).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.pools.book import PoolBook, run_clearing
from mercato.pools.model import PoolInputError
from mercato.pools.signed import Signed, parse_body, rfc3339
from mercato.transport.lookup import LookupCache
from mercato.transport.signer import SignerRefused, check_signer

log = logging.getLogger("mercato.coordinator")
MAX_BODY = 256 * 1024


class Refused(Exception):
    def __init__(self, status: int, problems: list[str] | str) -> None:
        self.status = status
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def now() -> datetime:
    return datetime.now(UTC)


class Coordinator:
    def __init__(
        self, data_dir: Path, lookup: LookupCache, admin_token: str, time_limit: float = 10.0
    ) -> None:
        self.data_dir = data_dir
        self.lookup = lookup
        self.admin_token = admin_token.encode()
        self.time_limit = time_limit
        self.books: dict[str, PoolBook] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.owner: dict[str, str] = {}  # commitment id -> pool
        self.lock = threading.Lock()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "pools.jsonl"
        self._replay()

    # -- the log ---------------------------------------------------------------------------------

    def _append(self, entry: dict[str, Any]) -> None:
        """One line per accepted document, on disk (fsync) before the sender hears it was taken."""
        with self.log_path.open("ab") as fh:
            fh.write(orjson.dumps(entry) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _replay(self) -> None:
        if not self.log_path.exists():
            return
        data = self.log_path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a write cut short by a crash: never acknowledged, so dropped
            log.warning("%s: dropping a torn last line of %d bytes", self.log_path, len(data) - end)
            with self.log_path.open("r+b") as fh:
                fh.truncate(end)
                os.fsync(fh.fileno())
            data = data[:end]
        for line in data.splitlines():
            if not line.strip():
                continue
            e = orjson.loads(line)
            kind, at = e["type"], datetime.fromisoformat(e["at"])
            if kind == "clearing":
                self.inputs[e["pool"]], self.results[e["pool"]] = e["input"], e["result"]
                self.books[e["pool"]].cleared = True
                continue
            s = Signed(e["body"].encode(), e["signature"], e["public_key"])
            self._apply(kind, s, s.doc, at)

    def _apply(self, kind: str, s: Signed, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
        if kind == "offer":
            raw = doc.get("offer")
            pool = str(raw.get("pool") or "") if isinstance(raw, dict) else ""
            if not pool:
                raise PoolInputError(["the offer names no pool"])
            pool_book = self.books.get(pool) or PoolBook(pool)
            added = pool_book.add_offer(s)
            self.books[pool] = pool_book
            return {"offer": added.id, "pool": pool, "deadline": rfc3339(added.deadline)}
        if kind == "commitment":
            book = self.books.get(str(doc.get("pool")))
            if book is None:
                raise Refused(404, f"unknown pool {doc.get('pool')!r}")
            c = book.admit(s, at)
            self.owner[c.id] = book.pool
            return {"commitment": c.id, "pool": book.pool, "state": "open",
                    "progress": [p.to_dict() for p in book.progress()]}  # fmt: skip
        cid = doc.get("commitment")
        owner = self.owner.get(cid) if isinstance(cid, str) else None
        if owner is None:
            raise Refused(404, f"unknown commitment {cid!r}")
        self.books[owner].revoke(s, at)
        return {"commitment": cid, "pool": owner, "state": "revoked"}

    # -- signed documents in ---------------------------------------------------------------------

    async def receive(self, request: Request, kind: str, role: str) -> Response:
        try:
            body = await request.body()
            if len(body) > MAX_BODY:
                raise Refused(413, f"the body is larger than {MAX_BODY} bytes")
            try:
                doc = parse_body(body)
            except PoolInputError as exc:
                raise Refused(400, exc.problems) from None
            if doc.get("kind") != kind:
                raise Refused(400, f"kind must be {kind!r}")
            try:
                signer = await check_signer(self.lookup, body, request.headers.get("authorization"), role)
            except SignerRefused as exc:
                raise Refused(exc.status, exc.message) from None
            auth, public_key = signer.authorization, signer.key.signing_public_key
            signed = Signed(body, auth, public_key)
            at = now()
            with self.lock:
                try:
                    answer = self._apply(kind, signed, doc, at)
                except PoolInputError as exc:
                    raise Refused(422, exc.problems) from None
                self._append({"type": kind, "at": at.isoformat(), "body": body.decode(),
                              "signature": auth, "public_key": public_key})  # fmt: skip
            return _json(answer)
        except Refused as exc:
            return _json({"error": {"message": str(exc), "problems": exc.problems}}, exc.status)

    # -- clearing --------------------------------------------------------------------------------

    def clear(self, pool: str) -> dict[str, Any]:
        with self.lock:
            book = self.books.get(pool)
            if book is None:
                raise Refused(404, f"unknown pool {pool!r}")
            if book.cleared:
                raise Refused(409, f"pool {pool!r} is already cleared")
            at = now()
            doc = book.clearing_input(at)
            try:
                result = run_clearing(doc, self.time_limit)
            except PoolInputError as exc:  # never clear invalid input
                raise Refused(422, exc.problems) from None
            self._append(
                {"type": "clearing", "at": at.isoformat(), "pool": pool, "input": doc, "result": result}
            )
            book.cleared = True
            self.inputs[pool], self.results[pool] = doc, result
            return result

    async def deadline_loop(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        while not stop.is_set():
            for pool, book in list(self.books.items()):
                deadline = book.deadline
                if not book.cleared and deadline is not None and deadline <= now():
                    try:
                        await asyncio.to_thread(self.clear, pool)
                        log.info("pool %s cleared", pool)
                    except Refused as exc:
                        log.warning("pool %s: %s", pool, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    # -- reading ---------------------------------------------------------------------------------

    def summary(self, pool: str) -> dict[str, Any]:
        book = self.books.get(pool)
        if book is None:
            raise Refused(404, f"unknown pool {pool!r}")
        progress = {p.offer: p.to_dict() for p in book.progress()}
        result = self.results.get(pool)
        return {
            "pool": pool,
            "state": "cleared" if book.cleared else "open",
            "deadline": rfc3339(book.deadline) if book.deadline else None,
            "commitments": len(book.live()),
            "offers": [
                {**o.to_doc(), "progress": progress[oid]} for oid, (o, _) in sorted(book.offers.items())
            ],
            "result": None
            if result is None
            else {k: result.get(k) for k in ("status", "objective", "bound", "gap", "runs")},
        }

    def status(self, cid: str) -> dict[str, Any]:
        pool = self.owner.get(cid)
        if pool is None:
            raise Refused(404, f"unknown commitment {cid!r}")
        out: dict[str, Any] = {"commitment": cid, "pool": pool, "state": "open"}
        if cid in self.books[pool].revoked:
            out["state"] = "revoked"
            return out
        result = self.results.get(pool)
        if result is not None:
            out.update(state="rejected", reason="expired")
            for a in result.get("accepted", []):
                if a["commitment"] == cid:
                    out.update(
                        state="accepted", offer=a["offer"], unit_price=a["unit_price"], quantity=a["quantity"]
                    )
                    out.pop("reason")
            for r in result.get("rejected", []):
                if r["commitment"] == cid:
                    out.update(reason=r["reason"])
        return out

    # -- the app ---------------------------------------------------------------------------------

    def app(self) -> Starlette:
        def guard(fn: Any) -> Any:
            async def run(request: Request) -> Response:
                try:
                    answer: Response = await fn(request)
                    return answer
                except Refused as exc:
                    return _json({"error": {"message": str(exc), "problems": exc.problems}}, exc.status)

            return run

        async def offers(request: Request) -> Response:
            return await self.receive(request, "offer", "BPP")

        async def commitments(request: Request) -> Response:
            return await self.receive(request, "commitment", "BAP")

        async def revocations(request: Request) -> Response:
            return await self.receive(request, "revocation", "BAP")

        async def summary(request: Request) -> Response:
            return _json(self.summary(request.path_params["pool"]))

        async def status(request: Request) -> Response:
            return _json(self.status(request.path_params["cid"]))

        async def published(request: Request) -> Response:
            pool, what = request.path_params["pool"], request.path_params["what"]
            if what not in ("input", "result"):
                raise Refused(404, "use /input or /result")
            data = (self.inputs if what == "input" else self.results).get(pool)
            if data is None:
                raise Refused(
                    404, f"pool {pool!r} is {'unknown' if pool not in self.books else 'not cleared yet'}"
                )
            return _json(data)

        async def clear_now(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), self.admin_token
            ):
                raise Refused(401, "a valid admin bearer token is required")
            return _json(await asyncio.to_thread(self.clear, request.path_params["pool"]))

        async def list_pools(_request: Request) -> Response:
            return _json([self.summary(p) for p in sorted(self.books)])

        async def health(_request: Request) -> Response:
            return _json({"status": "ok", "role": "pool coordinator", "pools": len(self.books)})

        stop = asyncio.Event()

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            task = asyncio.create_task(self.deadline_loop(stop))
            try:
                yield
            finally:
                stop.set()
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

        return Starlette(
            routes=[
                Route("/health", guard(health), methods=["GET"]),
                Route("/pools", guard(list_pools), methods=["GET"]),
                Route("/pool/offers", guard(offers), methods=["POST"]),
                Route("/pool/commitments", guard(commitments), methods=["POST"]),
                Route("/pool/revocations", guard(revocations), methods=["POST"]),
                Route("/pool/commitments/{cid}", guard(status), methods=["GET"]),
                Route("/pool/{pool}", guard(summary), methods=["GET"]),
                Route("/pool/{pool}/clear", guard(clear_now), methods=["POST"]),
                Route("/pool/{pool}/{what}", guard(published), methods=["GET"]),
            ],
            lifespan=lifespan,
        )

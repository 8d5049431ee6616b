"""``POST /catalog/publish``: a seller's signed catalog snapshot or delta.

Checks, in order (the first failure answers; nothing is stored unless all pass):

1. the body is at most ``max_bytes`` (413);
2. ``Authorization`` is present and verifies over the exact bytes with the signer's live key from
   the registry (401; 503 when the registry cannot be asked);
3. the body is a well-formed publication (400, ``path`` names the field);
4. the signer is the publication's ``bpp_id`` (401);
5. the registry lists ``bpp_id`` as a seller (BPP) in ``domain``, at ``bpp_uri``, in the cities
   named (403);
6. the version is newer than the one held (409 ``stale_version``) and a delta builds on the held
   version (409 ``snapshot_required``: send a snapshot). Both carry ``current_version``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from mercato.gateway.directory import DirectoryError, SellerDirectory
from mercato.gateway.index.store import CatalogIndex, VersionConflict
from mercato.protocol.catalog_publish import PublishError, parse_publication
from mercato.protocol.errors import Code
from mercato.protocol.signing import SignatureError, parse_header, verify
from mercato.transport.lookup import KeyLookupError, LookupCache, RegistryUnavailable


def _nack(status: int, code: Code, message: str, **extra: Any) -> Response:
    body = {
        "message": {"ack": {"status": "NACK"}},
        "error": {"code": code.value, "message": message},
        **extra,
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class PublishEndpoint:
    def __init__(
        self, index: CatalogIndex, keys: LookupCache, directory: SellerDirectory, max_bytes: int
    ) -> None:
        self.index = index
        self.keys = keys
        self.directory = directory
        self.max_bytes = max_bytes
        self.accepted = 0
        self.refused: dict[str, int] = {}

    def _refuse(self, reason: str, status: int, code: Code, message: str, **extra: Any) -> Response:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return _nack(status, code, message, reason=reason, **extra)

    async def handle(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return self._refuse("too_large", 413, Code.BAD_REQUEST, f"at most {self.max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_bytes:
                return self._refuse("too_large", 413, Code.BAD_REQUEST, f"at most {self.max_bytes} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        return await self.process(body, request.headers.get("authorization"))

    async def process(self, body: bytes, authorization: str | None) -> Response:
        if not authorization:
            return self._refuse(
                "unsigned", 401, Code.INVALID_SIGNATURE, "the Authorization header is missing"
            )
        try:
            sig = parse_header(authorization)
            key = await self.keys.get(sig.subscriber_id, sig.unique_key_id, time.time())
            verify(sig, body, key.signing_public_key)
        except RegistryUnavailable:
            return self._refuse(
                "registry", 503, Code.INTERNAL_ERROR, "the registry cannot be asked now; retry"
            )
        except (SignatureError, KeyLookupError) as exc:
            return self._refuse("bad_signature", 401, Code.INVALID_SIGNATURE, str(exc))
        try:
            pub = parse_publication(body)
        except PublishError as exc:
            extra = {"path": exc.path} if exc.path else {}
            return self._refuse("bad_publication", 400, Code.BAD_REQUEST, exc.message, **extra)
        if sig.subscriber_id != pub.bpp_id:
            return self._refuse(
                "signer_mismatch",
                401,
                Code.INVALID_SIGNATURE,
                f"signed by {sig.subscriber_id!r}, not by bpp_id",
            )
        try:
            regs = await self.directory.registration(pub.bpp_id, pub.domain)
        except DirectoryError:
            return self._refuse(
                "registry", 503, Code.INTERNAL_ERROR, "the registry cannot be asked now; retry"
            )
        if not regs:
            return self._refuse(
                "not_registered",
                403,
                Code.POLICY_ERROR,
                f"{pub.bpp_id} is not a registered seller in {pub.domain}",
            )
        reg = regs[0]
        if pub.bpp_uri.rstrip("/") != reg.subscriber_url.rstrip("/"):
            return self._refuse(
                "wrong_bpp_uri", 403, Code.POLICY_ERROR, "bpp_uri differs from the registered subscriber_url"
            )
        if "*" not in reg.cities and not set(pub.cities) <= reg.cities:
            return self._refuse(
                "wrong_city", 403, Code.POLICY_ERROR, "the seller is not registered in every city named"
            )
        try:
            n = await asyncio.to_thread(self.index.apply, pub, body, authorization)
        except VersionConflict as exc:
            return self._refuse(exc.reason, 409, Code.STALE_REQUEST, str(exc), current_version=exc.current)
        self.accepted += 1
        return Response(
            orjson.dumps(
                {
                    "message": {"ack": {"status": "ACK"}},
                    "status": "ACCEPTED",
                    "bpp_id": pub.bpp_id,
                    "version": pub.version,
                    "kind": pub.kind,
                    "items": n,
                }
            ),
            media_type="application/json",
        )

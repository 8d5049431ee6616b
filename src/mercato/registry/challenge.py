"""The registry's ``/on_subscribe`` call: proof that a subscriber holds its encryption key and
controls its callback URL.

The registry POSTs ``{"subscriber_id", "challenge"}`` to ``{callback_url}/on_subscribe``, signed in
``Authorization`` by the registry's own key. ``challenge`` is a random string encrypted with
AES-256-ECB under the X25519 shared secret of the registry's private and the subscriber's public
encryption key. The subscriber must answer HTTP 200 ``{"answer": <the random string>}``.
"""

from __future__ import annotations

import hmac
import logging

import httpx
import orjson

from mercato.protocol.errors import Code, ProtocolError
from mercato.protocol.keys import encrypt_challenge, load_encryption_public_key, random_token
from mercato.protocol.signing import sign
from mercato.registry.identity import RegistryIdentity
from mercato.registry.schemas import SubscribeClaim

log = logging.getLogger("mercato.registry")

MAX_ANSWER_BYTES = 64 * 1024


def on_subscribe_url(callback_url: str) -> str:
    return callback_url.rstrip("/") + "/on_subscribe"


def failed(message: str) -> ProtocolError:
    return ProtocolError(Code.POLICY_ERROR, message, http_status=400)


async def run_challenge(
    identity: RegistryIdentity,
    claim: SubscribeClaim,
    *,
    timeout_s: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Call the subscriber's ``/on_subscribe``; return if it answered right, else raise ProtocolError."""
    target = on_subscribe_url(claim.callback_url)
    plaintext = "mercato-challenge-" + random_token(16)
    challenge = encrypt_challenge(
        identity.keys.encryption, load_encryption_public_key(claim.encr_public_key), plaintext
    )
    body = orjson.dumps({"subscriber_id": claim.subscriber_id, "challenge": challenge})
    headers = {
        "Content-Type": "application/json",
        "Authorization": sign(
            body, identity.keys.signing, identity.registry_id, identity.unique_key_id, validity_s=300
        ),
    }
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, transport=transport, follow_redirects=False) as client,
            client.stream("POST", target, content=body, headers=headers) as resp,
        ):
            data = b""
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:
                    raise failed(f"{target}: the on_subscribe answer is larger than {MAX_ANSWER_BYTES} bytes")
            status = resp.status_code
    except httpx.HTTPError as exc:
        log.info("on_subscribe %s unreachable: %s", target, type(exc).__name__)
        raise failed(f"{target}: on_subscribe is unreachable ({type(exc).__name__}: {exc})") from None
    if status != 200:
        raise failed(f'{target}: on_subscribe answered HTTP {status}, expected 200 with {{"answer": ...}}')
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise failed(f"{target}: the on_subscribe answer is not JSON") from None
    got = answer.get("answer") if isinstance(answer, dict) else None
    if not isinstance(got, str):
        raise failed(f"{target}: the on_subscribe answer lacks an 'answer' string")
    if not hmac.compare_digest(got.encode("utf-8"), plaintext.encode("utf-8")):
        raise failed(f"{target}: encryption verification failed: the answer does not match the challenge")

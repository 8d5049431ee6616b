"""Random JSON and random bytes to the registry: always a 4xx or a 2xx with a JSON body, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import Participation, build_subscribe_request
from mercato.protocol.signing import sign
from mercato.registry.app import RegistrySettings, create_app
from mercato.registry.identity import RegistryIdentity

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["BAP", "BPP", "BG", "sellerApp", "*", "", "std:080", "2024-01-01T00:00:00Z", "/x"])
)
json_values = st.recursive(
    leaves,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=15,
)
LOOKUP_KEYS = ["subscriber_id", "type", "domain", "city", "country", "ukId", "include_inactive", "location"]
lookup_bodies = st.dictionaries(st.sampled_from(LOOKUP_KEYS), json_values, max_size=6)

PATHS = [
    ("context",),
    ("context", "operation"),
    ("message",),
    ("message", "entity"),
    ("message", "entity", "subscriber_id"),
    ("message", "entity", "unique_key_id"),
    ("message", "entity", "callback_url"),
    ("message", "entity", "country"),
    ("message", "entity", "key_pair"),
    ("message", "entity", "key_pair", "encryption_public_key"),
    ("message", "entity", "key_pair", "valid_from"),
    ("message", "entity", "key_pair", "valid_until"),
    ("message", "network_participant"),
    ("message", "request_id"),
    ("message", "timestamp"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("fuzz") / "registry.db"
    identity = RegistryIdentity("registry.test", "r1", KeyPair.generate())
    settings_ = RegistrySettings(
        db_url=f"sqlite:///{db}",
        identity=identity,
        admin_token="t",
        # never reach out to the random hosts a random body names
        callback_transport=httpx.MockTransport(lambda request: httpx.Response(404)),
    )
    with TestClient(create_app(settings_)) as c:
        yield c


def check(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    body = resp.json()
    if resp.status_code >= 400:
        assert body["message"]["ack"]["status"] == "NACK"
        assert body["error"]["code"] and body["error"]["message"]


@SETTINGS
@given(body=json_values)
def test_random_json_to_every_route(client: TestClient, body: Any) -> None:
    raw = json.dumps(body).encode()  # stdlib: also integers beyond 64 bits
    for route in ("/subscribe", "/lookup", "/vlookup"):
        check(client.post(route, content=raw))


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_random_bytes(client: TestClient, raw: bytes) -> None:
    check(client.post("/subscribe", content=raw))
    check(client.post("/lookup", content=raw))


@SETTINGS
@given(body=lookup_bodies)
def test_random_lookups(client: TestClient, body: dict[str, Any]) -> None:
    check(client.post("/lookup", content=json.dumps(body).encode()))


@SETTINGS
@given(path=st.sampled_from(PATHS), value=json_values)
def test_correctly_signed_subscribe_with_one_random_field(
    client: TestClient, path: tuple[str, ...], value: Any
) -> None:
    """Signed by the key it registers, so parsing, the rules and the challenge all run."""
    keys = KeyPair.generate()
    req = build_subscribe_request(
        subscriber_id="fuzz.example.org",
        unique_key_id="k1",
        keys=keys,
        subscriber_url="https://fuzz.example.org/x",
        participations=[Participation("BPP", "ONDC:RET10", ["std:080"])],
    )
    body = orjson.loads(req.body)
    node = body
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    raw = json.dumps(body).encode()
    header = sign(raw, keys.signing, "fuzz.example.org", "k1")
    check(client.post("/subscribe", content=raw, headers={"Authorization": header}))

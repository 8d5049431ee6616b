"""The pool coordinator (`mercato pool serve`) for a pool across two manufacturers; `mercato pool verify`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.coordinator.app import Coordinator
from mercato.pools.signed import rfc3339, sign_doc
from mercato.protocol.keys import KeyPair
from mercato.transport.lookup import LookupCache, StaticKeySource, SubscriberKey

M1, M2, BUYER = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
NOW = datetime.now(UTC)
DEADLINE = NOW + timedelta(hours=1)
TOKEN = "secret-token"


def coordinator(tmp_path: Path) -> Coordinator:
    keys = StaticKeySource(
        [
            SubscriberKey("m1.test", "k", M1.signing_public_key, type="BPP"),
            SubscriberKey("m2.test", "k", M2.signing_public_key, type="BPP"),
            SubscriberKey("buyer.test", "k", BUYER.signing_public_key, type="BAP"),
        ]
    )
    return Coordinator(tmp_path / "coord", LookupCache(keys), TOKEN)


def offer(bpp: str, item: str, tiers: list[tuple[int, int]], moq: int, cap: int) -> dict[str, Any]:
    return {
        "kind": "offer",
        "offer": {
            "bpp_id": bpp,
            "bpp_uri": f"http://{bpp}",
            "item_id": item,
            "provider_id": "p",
            "pool": "kettles",
            "coordinator": "http://coord.test",
            "name": item,
            "manufacturer_capacity": cap,
            "currency": "INR",
            "moq": moq,
            "capacity": cap,
            "tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
            "deadline": rfc3339(DEADLINE),
            "production_start": rfc3339(DEADLINE + timedelta(days=1)),
            "delivery_start": rfc3339(DEADLINE + timedelta(days=4)),
            "delivery_end": rfc3339(DEADLINE + timedelta(days=6)),
            "cities": ["std:080"],
        },
    }


def post(client: TestClient, path: str, doc: dict[str, Any], keys: KeyPair, signer: str) -> Any:
    s = sign_doc(doc, keys.signing, signer, "k", valid_until=DEADLINE + timedelta(days=3))
    return client.post(path, content=s.body, headers={"Authorization": s.signature})


def commitment(qty: int, price: int, offers: list[str]) -> dict[str, Any]:
    return {
        "kind": "commitment",
        "id": str(uuid.uuid4()),
        "pool": "kettles",
        "bap_id": "buyer.test",
        "quantity": qty,
        "max_unit_price": price,
        "currency": "INR",
        "offers": offers,
        "expires_at": rfc3339(DEADLINE + timedelta(days=2)),
        "created_at": rfc3339(NOW),
    }


def fill(client: TestClient) -> list[dict[str, Any]]:
    assert post(client, "/pool/offers", offer("m1.test", "kettle", [(1, 200_000), (30, 150_000)], 20, 60), M1,
                "m1.test").status_code == 200  # fmt: skip
    assert post(client, "/pool/offers", offer("m2.test", "kettle-xl", [(1, 180_000)], 10, 25), M2,
                "m2.test").status_code == 200  # fmt: skip
    docs = [
        commitment(20, 170_000, ["m1.test/kettle", "m2.test/kettle-xl"]),
        commitment(15, 190_000, ["m2.test/kettle-xl", "m1.test/kettle"]),
        commitment(12, 160_000, ["m1.test/kettle"]),
        commitment(5, 100_000, ["m1.test/kettle"]),
    ]
    for d in docs:
        r = post(client, "/pool/commitments", d, BUYER, "buyer.test")
        assert r.status_code == 200, r.text
    return docs


def test_a_pool_across_two_manufacturers_clears_and_verifies(tmp_path: Path) -> None:
    c = coordinator(tmp_path)
    with TestClient(c.app()) as client:
        docs = fill(client)
        progress = {o["id"]: o["progress"] for o in client.get("/pool/kettles").json()["offers"]}
        assert progress["m1.test/kettle"]["committed"] == 52 and progress["m1.test/kettle"]["tier"] == 1
        assert client.post("/pool/kettles/clear").status_code == 401
        r = client.post("/pool/kettles/clear", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text
        result = r.json()
        doc = client.get("/pool/kettles/input").json()
        assert client.get("/pool/kettles/result").json() == result
        states = {d["id"]: client.get(f"/pool/commitments/{d['id']}").json() for d in docs}
    accepted = {a["commitment"]: a for a in result["accepted"]}
    assert set(accepted) == {docs[0]["id"], docs[1]["id"], docs[2]["id"]}
    assert (
        states[docs[3]["id"]]["state"] == "rejected"
        and states[docs[3]["id"]]["reason"] == "price_not_reached"
    )
    assert states[docs[0]["id"]]["state"] == "accepted"
    # anyone re-runs it
    (tmp_path / "in.json").write_text(json.dumps(doc))
    (tmp_path / "out.json").write_text(json.dumps(result))
    run = CliRunner().invoke(cli, ["pool", "verify", "--input", str(tmp_path / "in.json"),
                                   "--result", str(tmp_path / "out.json"), "--json"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["ok"] is True
    # a restart replays the log: same books, same published clearing
    again = coordinator(tmp_path)
    assert again.results["kettles"] == result and again.inputs["kettles"] == doc
    assert set(again.books["kettles"].commitments) == {d["id"] for d in docs}


def test_refused_documents(tmp_path: Path) -> None:
    c = coordinator(tmp_path)
    with TestClient(c.app()) as client:
        fill(client)
        o = "/pool/offers"
        bad = [
            (post(client, o, offer("m1.test", "pot", [(1, 5)], 9, 3), M1, "m1.test"), 422, "moq 9"),
            (post(client, o, offer("m1.test", "pot", [(1, 5)], 1, 3), M2, "m1.test"), 401, "forged"),
            (post(client, "/pool/offers", offer("buyer.test", "pot", [(1, 5)], 1, 3), BUYER, "buyer.test"),
             401, "not BPP"),
            (post(client, "/pool/commitments", commitment(1, 9, ["m9.test/x"]), BUYER, "buyer.test"),
             422, "unknown offer"),
            (post(client, "/pool/commitments", commitment(-1, 9, ["m1.test/kettle"]), BUYER, "buyer.test"),
             422, "quantity must be positive"),
            (post(client, "/pool/commitments", commitment(1, 9, ["m1.test/kettle"]), KeyPair.generate(),
                  "buyer.test"), 401, "forged"),
            (post(client, "/pool/commitments", commitment(1, 9, ["m1.test/kettle"]), BUYER, "nobody.test"),
             401, "no key"),
            (post(client, "/pool/offers", commitment(1, 9, ["m1.test/kettle"]), BUYER, "buyer.test"),
             400, "kind must be 'offer'"),
            (client.get("/pool/kettles/result"), 404, "not cleared yet"),
            (client.get("/pool/nothing"), 404, "unknown pool"),
        ]  # fmt: skip
        for r, status, message in bad:
            assert r.status_code == status and message in r.text, (status, message, r.text)
        assert len(c.books["kettles"].commitments) == 4


def test_verify_refutes_a_changed_result_with_exit_1(tmp_path: Path) -> None:
    c = coordinator(tmp_path)
    with TestClient(c.app()) as client:
        fill(client)
        result = client.post("/pool/kettles/clear", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        doc = client.get("/pool/kettles/input").json()
    result["accepted"] = result["accepted"][1:]
    (tmp_path / "in.json").write_text(json.dumps(doc))
    (tmp_path / "out.json").write_text(json.dumps(result))
    run = CliRunner().invoke(cli, ["pool", "verify", "--input", str(tmp_path / "in.json"),
                                   "--result", str(tmp_path / "out.json")])  # fmt: skip
    assert run.exit_code == 1
    assert "refuted" in run.output and "objective" in run.output
    (tmp_path / "broken.json").write_text("{")
    run = CliRunner().invoke(cli, ["pool", "verify", "--input", str(tmp_path / "broken.json"),
                                   "--result", str(tmp_path / "out.json")])  # fmt: skip
    assert run.exit_code == 2 and "broken.json: not valid JSON" in run.output


def test_verify_a_bare_pool_clear_result_without_signatures(tmp_path: Path) -> None:
    from tests.pools.helpers import commitment as plain_commitment
    from tests.pools.helpers import document
    from tests.pools.helpers import offer as plain_offer

    doc = document(
        {"m": 100},
        [plain_offer("o1", "m", [(1, 100), (10, 80)], 5, 50)],
        [plain_commitment("c1", 6, 90, ["o1"]), plain_commitment("c2", 6, 85, ["o1"])],
    )
    (tmp_path / "in.json").write_text(json.dumps(doc))
    cleared = CliRunner().invoke(cli, ["pool", "clear", "--input", str(tmp_path / "in.json"), "--json"])
    assert cleared.exit_code == 0, cleared.output
    (tmp_path / "out.json").write_text(cleared.stdout)
    args = ["pool", "verify", "--input", str(tmp_path / "in.json"), "--result", str(tmp_path / "out.json")]
    assert CliRunner().invoke(cli, [*args, "--no-signatures"]).exit_code == 0
    unsigned = CliRunner().invoke(cli, args)
    assert unsigned.exit_code == 1 and "no 'signed' section" in unsigned.output


def test_a_torn_last_log_line_is_dropped_on_restart(tmp_path: Path) -> None:
    c = coordinator(tmp_path)
    with TestClient(c.app()) as client:
        docs = fill(client)
    whole = c.log_path.read_bytes()
    c.log_path.write_bytes(whole + b'{"type": "commitment", "at": "2026-')  # a crash mid-write
    again = coordinator(tmp_path)
    assert set(again.books["kettles"].commitments) == {d["id"] for d in docs}
    assert again.log_path.read_bytes() == whole  # truncated back to the last whole line
    with TestClient(again.app()) as client:  # and it keeps appending whole lines after it
        extra = commitment(3, 190_000, ["m1.test/kettle"])
        assert post(client, "/pool/commitments", extra, BUYER, "buyer.test").status_code == 200
    assert set(coordinator(tmp_path).books["kettles"].commitments) == {d["id"] for d in docs} | {extra["id"]}

"""The message log: exact bytes, one file per message, one sequence across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from mercato.protocol.keys import KeyPair
from mercato.transport import message_log
from mercato.transport.client import BecknClient


def body(mid: str) -> bytes:
    return orjson.dumps({"context": {"message_id": mid, "action": "search"}, "message": {"x": "ü"}})


def test_record_writes_exact_bytes_with_seq_action_and_message_id(tmp_path: Path) -> None:
    b1, b2 = body("m-1"), b'{"context":{"message_id":"../../etc/passwd"}}'
    p1 = message_log.record("http://s.example/beckn/on_select", b1, tmp_path)
    p2 = message_log.record("http://s.example/search", b2, tmp_path)
    p3 = message_log.record("http://s.example/on_status", b"not json", tmp_path)
    assert p1 is not None and p1.name == "000001-on_select-m-1.json" and p1.read_bytes() == b1
    assert p2 is not None and p2.name == "000002-search-.._.._etc_passwd.json" and p2.parent == tmp_path
    assert p3 is not None and p3.name == "000003-on_status-no-message-id.json"


def test_off_without_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(message_log.ENV, raising=False)
    assert message_log.record("http://x/search", b"{}") is None


def test_one_sequence_across_processes(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from mercato.transport import message_log as m\n"
        "for i in range(25): m.record('http://x/search', b'{}', Path(sys.argv[1]))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(4)]
    assert all(p.wait(60) == 0 for p in procs)
    seqs = sorted(int(p.name.split("-")[0]) for p in tmp_path.glob("*.json"))
    assert seqs == list(range(1, 101))


def names_and_bytes(folder: Path) -> list[tuple[str, bytes]]:
    return [(f.name, f.read_bytes()) for f in sorted(folder.glob("*.json"))]


async def test_the_client_logs_what_it_sends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(message_log.ENV, str(tmp_path))
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"message": {"ack": {"status": "ACK"}}})

    kp = KeyPair.generate()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with BecknClient("bap.example", "k1", kp.signing, client=http) as client:
        answer = await client.send("http://bpp.example/beckn", "select", body("m-9"))
    await http.aclose()
    assert answer.ack
    assert names_and_bytes(tmp_path) == [("000001-select-m-9.json", body("m-9"))]
    assert seen == [body("m-9")]

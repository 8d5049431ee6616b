"""`mercato keys new|sign|verify`, through Typer's runner and once as a real process."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mercato.cli import app
from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import digest_header, parse_header, verify

# The folder that tests/conftest.py calls SPECS. Not imported from there: a test folder with its own
# conftest.py would shadow the module name "conftest".
SPECS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "specs" / "beckn"

VECTOR: dict[str, Any] = json.loads((SPECS / "ondc-crypto-vector.json").read_text(encoding="utf-8"))
CREATED = int(VECTOR["created"])
EXPIRES = int(VECTOR["expires"])
PUB = VECTOR["keys"]["signing_public_key_b64"]


def run(*args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(app, ["keys", *args], catch_exceptions=False)


def stderr(result: Any) -> str:
    return str(result.stderr)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A key file holding the vector's keys, in the format `keys new` writes."""
    d = KeyPair.from_dict(
        {
            "signing_private_key": VECTOR["keys"]["signing_private_key_b64_libsodium_64byte"],
            "encryption_private_key": VECTOR["keys"]["encryption_private_key_x25519_pkcs8_der_b64"],
        }
    ).to_dict()
    path = tmp_path / "vector.key.json"
    path.write_text(json.dumps(d))
    return path


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(VECTOR["body"].encode())
    return path


def sign_vector(key_file: Path, body_file: Path, *extra: str) -> Any:
    return run(
        "sign",
        "--key",
        str(key_file),
        "--subscriber-id",
        VECTOR["subscriber_id"],
        "--key-id",
        VECTOR["unique_key_id"],
        "--body",
        str(body_file),
        "--created",
        str(CREATED),
        "--expires",
        str(EXPIRES),
        *extra,
    )


# --- new ----------------------------------------------------------------------------------------


def test_new_writes_a_private_key_file_and_prints_public_keys(tmp_path: Path) -> None:
    out = tmp_path / "node.key.json"
    r = run("new", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    kp = KeyPair.from_dict(json.loads(out.read_text()))
    assert f"signing_public_key: {kp.signing_public_key}" in r.stdout
    assert f"encryption_public_key: {kp.encryption_public_key}" in r.stdout
    assert json.loads(out.read_text())["signing_private_key"] not in r.stdout


def test_new_json_prints_exactly_one_object(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    r = run("new", "--out", str(out), "--json")
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert set(obj) == {"signing_public_key", "encryption_public_key"}
    kp = KeyPair.from_dict(json.loads(out.read_text()))
    assert obj == {
        "signing_public_key": kp.signing_public_key,
        "encryption_public_key": kp.encryption_public_key,
    }
    assert len(base64.b64decode(obj["signing_public_key"])) == 32
    assert len(base64.b64decode(obj["encryption_public_key"])) == 44  # DER SubjectPublicKeyInfo


def test_new_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    out.write_text("precious")
    out.chmod(0o644)
    r = run("new", "--out", str(out))
    assert r.exit_code == 2
    assert "already exists" in stderr(r) and str(out) in stderr(r)
    assert out.read_text() == "precious"
    r = run("new", "--out", str(out), "--force", "--json")
    assert r.exit_code == 0
    assert (
        KeyPair.from_dict(json.loads(out.read_text())).signing_public_key
        == json.loads(r.stdout)["signing_public_key"]
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temporary file left behind


def test_new_into_a_missing_folder(tmp_path: Path) -> None:
    r = run("new", "--out", str(tmp_path / "nope" / "k.json"))
    assert r.exit_code == 2
    assert "does not exist" in stderr(r) and "nope" in stderr(r)
    r = run("new", "--out", str(tmp_path))
    assert r.exit_code == 2 and "directory" in stderr(r)


# --- sign ---------------------------------------------------------------------------------------


def test_sign_reproduces_the_vector_header(key_file: Path, body_file: Path) -> None:
    r = sign_vector(key_file, body_file)
    assert r.exit_code == 0, r.output
    assert r.stdout == VECTOR["authorization_header"] + "\n"


def test_sign_json(key_file: Path, body_file: Path) -> None:
    r = sign_vector(key_file, body_file, "--json")
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["authorization"] == VECTOR["authorization_header"]
    assert obj["signing_string"] == VECTOR["signing_string"]
    assert obj["digest"] == "BLAKE-512=" + VECTOR["digest_blake2b512_b64"]
    assert (obj["created"], obj["expires"]) == (CREATED, EXPIRES)


def test_sign_uses_exactly_the_file_bytes(key_file: Path, tmp_path: Path) -> None:
    body = tmp_path / "b.json"
    for data in [b'{"a":1}\n', b'{"a":1}\r\n', b'{"a":1}', '{"a":"नमस्ते"}\n\n'.encode(), b"", b"\xff\x00raw"]:
        body.write_bytes(data)
        r = run(
            "sign",
            "--key",
            str(key_file),
            "--subscriber-id",
            "s.example",
            "--key-id",
            "k",
            "--body",
            str(body),
        )
        assert r.exit_code == 0
        verify(r.stdout.strip(), data, PUB)


def test_sign_defaults_to_now_and_an_hour(key_file: Path, body_file: Path) -> None:
    r = run("sign", "--key", str(key_file), "--subscriber-id", "s", "--key-id", "k", "--body", str(body_file))
    h = verify(r.stdout.strip(), body_file.read_bytes(), PUB)
    assert h.expires - h.created == 3600


def test_sign_accepts_a_bare_base64_private_key(tmp_path: Path, body_file: Path) -> None:
    for name in ["signing_private_key_b64_libsodium_64byte", "signing_seed_b64_32byte"]:
        key = tmp_path / f"{name}.txt"
        key.write_text(VECTOR["keys"][name] + "\n")
        r = sign_vector(key, body_file)
        assert r.exit_code == 0, stderr(r)
        assert r.stdout.strip() == VECTOR["authorization_header"]
    only_signing = tmp_path / "signing-only.json"
    only_signing.write_text(json.dumps({"signing_private_key": VECTOR["keys"]["signing_seed_b64_32byte"]}))
    assert sign_vector(only_signing, body_file).stdout.strip() == VECTOR["authorization_header"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"{not json", "not valid JSON"),
        (b'{"hello": "world"}', "lacks 'signing_private_key'"),
        (b'{"signing_private_key": "!!!"}', "not valid base64"),
        (b'{"signing_private_key": 5}', "must be a base64 string"),
        (b"\xff\xfe\x00garbage", "not text"),
        (b"c2hvcnQ=", "32 or 64 bytes"),
        (b'{"signing_private_key": "c2hvcnQ=", "encryption_private_key": "x"}', "32 or 64 bytes"),
        (b"[1, 2]", "not valid base64"),
    ],
)
def test_sign_with_a_bad_key_file(tmp_path: Path, body_file: Path, content: bytes, message: str) -> None:
    key = tmp_path / "bad.key"
    key.write_bytes(content)
    r = sign_vector(key, body_file)
    assert r.exit_code == 2
    assert message in stderr(r) and str(key) in stderr(r)
    assert "Traceback" not in r.output
    assert r.stdout == ""


def test_sign_with_missing_or_unreadable_files(key_file: Path, body_file: Path, tmp_path: Path) -> None:
    r = sign_vector(tmp_path / "missing.json", body_file)
    assert r.exit_code == 2 and "missing.json" in stderr(r) and "does not exist" in stderr(r)
    r = sign_vector(key_file, tmp_path / "nobody.json")
    assert r.exit_code == 2 and "body file" in stderr(r) and "nobody.json" in stderr(r)
    r = sign_vector(tmp_path, body_file)
    assert r.exit_code == 2 and "is a directory" in stderr(r)
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "locked.json"
        locked.write_text("{}")
        locked.chmod(0)
        r = sign_vector(locked, body_file)
        assert r.exit_code == 2 and "cannot read" in stderr(r)


@pytest.mark.parametrize(("sub", "kid"), [("a|b", "k"), ("a", 'k"'), ("a b", "k")])
def test_sign_with_bad_ids(key_file: Path, body_file: Path, sub: str, kid: str) -> None:
    r = run("sign", "--key", str(key_file), "--subscriber-id", sub, "--key-id", kid, "--body", str(body_file))
    assert r.exit_code == 2 and "error:" in stderr(r)


def test_sign_with_expires_before_created(key_file: Path, body_file: Path) -> None:
    r = sign_vector(key_file, body_file, "--expires", str(CREATED - 1))
    assert r.exit_code == 2 and "expires" in stderr(r)


# --- verify -------------------------------------------------------------------------------------


def verify_vector(body_file: Path, *extra: str, header: str | None = None, pub: str = PUB) -> Any:
    return run(
        "verify",
        "--header",
        VECTOR["authorization_header"] if header is None else header,
        "--body",
        str(body_file),
        "--public-key",
        pub,
        *extra,
    )


def test_verify_valid(body_file: Path) -> None:
    r = verify_vector(body_file, "--now", str(CREATED + 1))
    assert r.exit_code == 0, stderr(r)
    assert "valid" in r.stdout and VECTOR["subscriber_id"] in r.stdout
    r = verify_vector(
        body_file, "--now", str(CREATED), header="Authorization: " + VECTOR["authorization_header"]
    )
    assert r.exit_code == 0
    r = verify_vector(
        body_file, "--now", str(CREATED), header="X-Gateway-Authorization:" + VECTOR["authorization_header"]
    )
    assert r.exit_code == 0


def test_verify_json_valid(body_file: Path) -> None:
    r = verify_vector(body_file, "--now", str(CREATED), "--json")
    assert r.exit_code == 0
    obj = json.loads(r.stdout)
    assert obj["valid"] is True and obj["reason"] is None
    assert obj["signing_string"] == VECTOR["signing_string"]
    assert (obj["subscriber_id"], obj["unique_key_id"]) == (VECTOR["subscriber_id"], VECTOR["unique_key_id"])


def _reasons(body_file: Path, tmp_path: Path) -> dict[str, tuple[list[str], str | None, str]]:
    other_body = tmp_path / "other.json"
    other_body.write_bytes(json.dumps(json.loads(VECTOR["body"])).encode())
    now = str(CREATED)
    original = digest_header(VECTOR["body"].encode())
    stranger = KeyPair.generate().signing_public_key
    changed = ["--body", str(other_body), "--now", now]
    return {
        "bad signature": (changed, None, "bad_signature"),
        "another key": (["--now", now, "--public-key", stranger], None, "bad_signature"),
        "digest mismatch": ([*changed, "--digest", original], None, "digest_mismatch"),
        "expired": (["--now", str(EXPIRES + 1)], None, "expired"),
        "not yet valid": (["--now", str(CREATED - 6)], None, "not_yet_valid"),
        "not yet valid with --skew": (["--now", str(CREATED - 6), "--skew", "5.5"], None, "not_yet_valid"),
        "malformed": (["--now", now], "Signature nonsense", "malformed"),
        "key id mismatch": (["--now", now, "--subscriber-id", "x.example"], None, "key_id_mismatch"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        "bad signature",
        "another key",
        "digest mismatch",
        "expired",
        "not yet valid",
        "not yet valid with --skew",
        "malformed",
        "key id mismatch",
    ],
)
def test_verify_says_why(body_file: Path, tmp_path: Path, case: str) -> None:
    args, header, reason = _reasons(body_file, tmp_path)[case]
    base = ["verify", "--header", header or VECTOR["authorization_header"], "--body", str(body_file)]
    base += ["--public-key", PUB]
    r = run(*base, *args)  # later options win over the defaults above
    assert r.exit_code == 1, r.output
    assert f"invalid ({reason.replace('_', ' ')})" in stderr(r)
    assert r.stdout == ""
    r = run(*base, *args, "--json")
    assert r.exit_code == 1
    obj = json.loads(r.stdout)
    assert obj["valid"] is False and obj["reason"] == reason and obj["message"]


def test_verify_within_skew(body_file: Path) -> None:
    assert verify_vector(body_file, "--now", str(CREATED - 6), "--skew", "6").exit_code == 0
    assert verify_vector(body_file, "--now", str(CREATED - 5)).exit_code == 0


def test_verify_bad_signature_shows_the_signing_string(body_file: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed.json"
    changed.write_bytes(VECTOR["body"].encode() + b"\n")
    r = verify_vector(changed, "--now", str(CREATED))
    assert r.exit_code == 1
    assert "(created): 1735689600\n(expires): 1735693200\ndigest: BLAKE-512=" in stderr(r)


def test_verify_bad_input_exits_2(body_file: Path, tmp_path: Path) -> None:
    r = verify_vector(tmp_path / "absent.json")
    assert r.exit_code == 2 and "absent.json" in stderr(r)
    r = verify_vector(body_file, pub="not base64!")
    assert r.exit_code == 2 and "--public-key" in stderr(r) and "base64" in stderr(r)
    r = verify_vector(body_file, pub=base64.b64encode(b"short").decode())
    assert r.exit_code == 2 and "32 raw bytes" in stderr(r)
    r = verify_vector(body_file, "--skew", "-1")
    assert r.exit_code == 2
    r = verify_vector(body_file, "--now", "yesterday")
    assert r.exit_code == 2
    for res in [r]:
        assert "Traceback" not in res.output


# --- the real command ---------------------------------------------------------------------------


def test_real_process_new_sign_verify(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "mercato"
    if not exe.exists():
        pytest.skip(f"{exe} is not installed (pip install -e .)")

    def mercato(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), "keys", *args], capture_output=True, text=True, timeout=60, check=False
        )

    key = tmp_path / "node.key.json"
    new = mercato("new", "--out", str(key), "--json")
    assert new.returncode == 0, new.stderr
    public = json.loads(new.stdout)
    body = tmp_path / "body.json"
    body.write_bytes('{"message":"ಅಕ್ಕಿ 🍚"}\n'.encode())
    signed = mercato(
        "sign", "--key", str(key), "--subscriber-id", "s.example", "--key-id", "k1", "--body", str(body)
    )
    assert signed.returncode == 0, signed.stderr
    header = signed.stdout.strip()
    assert parse_header(header).subscriber_id == "s.example"
    ok = mercato(
        "verify", "--header", header, "--body", str(body), "--public-key", public["signing_public_key"]
    )
    assert ok.returncode == 0, ok.stderr
    body.write_bytes(body.read_bytes().rstrip(b"\n"))
    bad = mercato(
        "verify",
        "--header",
        header,
        "--body",
        str(body),
        "--public-key",
        public["signing_public_key"],
        "--json",
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["reason"] == "bad_signature"
    assert "invalid (bad signature)" in bad.stderr
    missing = mercato(
        "sign", "--key", str(tmp_path / "nope"), "--subscriber-id", "s", "--key-id", "k", "--body", str(body)
    )
    assert missing.returncode == 2
    assert "nope" in missing.stderr and "Traceback" not in missing.stderr

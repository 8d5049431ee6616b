"""The shared key file: created 0600 once, read back the same, clear errors for bad files."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest

from mercato.keyfile import derived_key_id, load_or_create, write_secret
from mercato.protocol.keys import KeyFormatError, KeyPair


def test_created_once_with_mode_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "node.key.json"
    keys, ukid, created = load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, ukid2, created2 = load_or_create(path)
    assert not created2 and ukid2 == ukid
    assert again.signing_public_key == keys.signing_public_key
    assert again.encryption_public_key == keys.encryption_public_key


def test_a_file_without_key_id_gets_a_stable_derived_one(tmp_path: Path) -> None:
    kp = KeyPair.generate()
    path = tmp_path / "k.json"
    path.write_bytes(orjson.dumps(kp.to_dict()))
    _, ukid, created = load_or_create(path)
    assert not created and ukid == derived_key_id(kp) == load_or_create(path)[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not a JSON key file"),
        (b"[1, 2]", "a key file is a JSON object"),
        (b'{"signing_private_key": "AAAA"}', "k.json"),
    ],
)
def test_bad_files_name_themselves(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(KeyFormatError, match=message):
        load_or_create(path)


def test_write_secret_never_widens_and_refuses_to_clobber(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    path.chmod(0o644)
    with pytest.raises(FileExistsError):
        write_secret(path, b"new")
    write_secret(path, b"new", replace=True)
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o600

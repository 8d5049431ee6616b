"""A node's key file, shared by every role: the fields of ``KeyPair.to_dict`` plus ``unique_key_id``.

Created with mode 0600 when missing. A file written by ``mercato keys new`` works too; without
``unique_key_id`` the key id is derived from the signing public key, so it is stable across restarts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import orjson

from mercato.protocol.keys import KeyFormatError, KeyPair


def derived_key_id(keys: KeyPair) -> str:
    return "k-" + hashlib.sha256(keys.signing_public_key.encode("ascii")).hexdigest()[:16]


def load_or_create(path: str | Path) -> tuple[KeyPair, str, bool]:
    """(keys, unique key id, created). Raises KeyFormatError naming the file when it is unusable."""
    p = Path(path).expanduser()
    if p.exists():
        try:
            data = orjson.loads(p.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise KeyFormatError(f"{p}: not a JSON key file ({exc})") from None
        if not isinstance(data, dict):
            raise KeyFormatError(f"{p}: a key file is a JSON object")
        try:
            keys = KeyPair.from_dict({k: v for k, v in data.items() if isinstance(v, str)})
        except KeyFormatError as exc:
            raise KeyFormatError(f"{p}: {exc}") from None
        ukid = data.get("unique_key_id")
        if not isinstance(ukid, str) or not ukid:
            ukid = derived_key_id(keys)
        return keys, ukid, False
    keys = KeyPair.generate()
    ukid = str(uuid.uuid4())
    write_secret(p, orjson.dumps({**keys.to_dict(), "unique_key_id": ukid}, option=orjson.OPT_INDENT_2))
    return keys, ukid, True


def write_secret(path: str | Path, content: bytes, *, replace: bool = False) -> None:
    """Write a file only its owner can read: created with mode 0600, never briefly wider."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(p, flags, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode under O_TRUNC: narrow it first
    with os.fdopen(fd, "wb") as f:
        f.write(content)

"""The buyer node's keys: a key file (the fields of ``KeyPair.to_dict`` plus ``unique_key_id``),
created with mode 0600 when missing. A file from ``mercato keys new`` works too; without
``unique_key_id`` the key id is derived from the signing public key (stable across restarts)."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path

import orjson

from mercato.protocol.keys import KeyFormatError, KeyPair


def load_or_create(path: str | Path) -> tuple[KeyPair, str, bool]:
    """(keys, unique key id, created)."""
    p = Path(path).expanduser()
    if p.exists():
        try:
            data = orjson.loads(p.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise KeyFormatError(f"{p}: not a JSON key file ({exc})") from None
        if not isinstance(data, dict):
            raise KeyFormatError(f"{p}: a key file is a JSON object")
        keys = KeyPair.from_dict({k: v for k, v in data.items() if isinstance(v, str)})
        ukid = data.get("unique_key_id")
        if not isinstance(ukid, str) or not ukid:
            ukid = "k-" + hashlib.sha256(keys.signing_public_key.encode("ascii")).hexdigest()[:16]
        return keys, ukid, False
    keys = KeyPair.generate()
    ukid = str(uuid.uuid4())
    write_secret(p, orjson.dumps({**keys.to_dict(), "unique_key_id": ukid}, option=orjson.OPT_INDENT_2))
    return keys, ukid, True


def write_secret(p: Path, content: bytes) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def load_or_create_token(path: str | Path) -> tuple[str, bool]:
    """The local API token kept in a file (mode 0600): (token, created)."""
    p = Path(path).expanduser()
    if p.exists():
        token = p.read_text("utf-8").strip()
        if token:
            return token, False
        p.unlink()
    token = secrets.token_urlsafe(32)
    write_secret(p, token.encode() + b"\n")
    return token, True

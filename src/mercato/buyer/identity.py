"""The buyer node's keys: a key file (the fields of ``KeyPair.to_dict`` plus ``unique_key_id``),
created with mode 0600 when missing. A file from ``mercato keys new`` works too; without
``unique_key_id`` the key id is derived from the signing public key (stable across restarts)."""

from __future__ import annotations

import secrets
from pathlib import Path

from mercato.keyfile import load_or_create, write_secret

__all__ = ["load_or_create", "load_or_create_token", "write_secret"]


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

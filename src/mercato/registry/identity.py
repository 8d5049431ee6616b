"""The registry's own identity: its id, its unique key id and its key pair, kept in a key file.

The key file is JSON (mode 0600): the fields of :meth:`KeyPair.to_dict` plus ``unique_key_id``.
A file written by ``mercato keys new`` works too; without ``unique_key_id`` the key id is derived
from the signing public key, so it stays the same across restarts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mercato.protocol.keys import KeyFormatError, KeyPair

DEFAULT_REGISTRY_ID = "mercato-registry"


@dataclass(frozen=True)
class RegistryIdentity:
    registry_id: str
    unique_key_id: str
    keys: KeyPair

    @property
    def key_id(self) -> str:
        return f"{self.registry_id}|{self.unique_key_id}|ed25519"

    def public_info(self) -> dict[str, Any]:
        """What ``GET /keys`` publishes: everything a participant needs to trust the registry."""
        return {
            "subscriber_id": self.registry_id,
            "unique_key_id": self.unique_key_id,
            "ukId": self.unique_key_id,
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "signing_public_key": self.keys.signing_public_key,
            "encr_public_key": self.keys.encryption_public_key,
        }


def _derived_key_id(keys: KeyPair) -> str:
    return "k-" + hashlib.sha256(keys.signing_public_key.encode("ascii")).hexdigest()[:16]


def load_or_create(path: str | Path, registry_id: str = DEFAULT_REGISTRY_ID) -> tuple[RegistryIdentity, bool]:
    """Read the key file, or create it (mode 0600) with fresh keys. Returns (identity, created)."""
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
            ukid = _derived_key_id(keys)
        return RegistryIdentity(registry_id, ukid, keys), False
    keys = KeyPair.generate()
    content = {**keys.to_dict(), "unique_key_id": str(uuid.uuid4())}
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(content, option=orjson.OPT_INDENT_2))
    return RegistryIdentity(registry_id, content["unique_key_id"], keys), True

"""The registry's own identity: its id, its unique key id and its key pair, kept in a key file.

The key file is JSON (mode 0600): the fields of :meth:`KeyPair.to_dict` plus ``unique_key_id``.
A file written by ``mercato keys new`` works too; without ``unique_key_id`` the key id is derived
from the signing public key, so it stays the same across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mercato import keyfile
from mercato.protocol.keys import KeyPair

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


def load_or_create(path: str | Path, registry_id: str = DEFAULT_REGISTRY_ID) -> tuple[RegistryIdentity, bool]:
    """Read the key file, or create it (mode 0600) with fresh keys. Returns (identity, created)."""
    keys, ukid, created = keyfile.load_or_create(path)
    return RegistryIdentity(registry_id, ukid, keys), created

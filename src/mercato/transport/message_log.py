"""Write every protocol message a node sends to a folder, for debugging and for `mercato demo`.

Off unless ``MERCATO_MESSAGE_LOG_DIR`` names a folder. Each message becomes one file,
``<seq>-<action>-<message_id>.json``, holding the exact bytes that were sent. ``seq`` is one counter
shared by every process writing into the folder (kept in ``.seq`` under an exclusive file lock), so
sorting the names gives the order in which the messages left, across all nodes of a network.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

import orjson

ENV = "MERCATO_MESSAGE_LOG_DIR"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def log_dir() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def _next_seq(folder: Path) -> int:
    with open(folder / ".seq", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read().decode("ascii", "replace").strip()
        seq = int(text) + 1 if text.isdigit() else 1
        f.seek(0)
        f.truncate()
        f.write(str(seq).encode("ascii"))
        return seq


def message_id_of(body: bytes) -> str:
    try:
        doc = orjson.loads(body)
        mid = doc["context"]["message_id"] if isinstance(doc, dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        mid = None
    return _SAFE.sub("_", str(mid))[:80] if mid else "no-message-id"


def record(url: str, body: bytes, folder: Path | None = None) -> Path | None:
    """Save ``body`` as sent to ``url``; returns the file, or None when logging is off."""
    target = folder or log_dir()
    if target is None:
        return None
    target.mkdir(parents=True, exist_ok=True)
    action = _SAFE.sub("_", url.rstrip("/").rsplit("/", 1)[-1])[:40] or "unknown"
    path = target / f"{_next_seq(target):06d}-{action}-{message_id_of(body)}.json"
    path.write_bytes(body)
    return path

"""Beckn core 1.1 actions: the ten a seller (BPP) receives and the ten ``on_*`` callbacks it sends back."""

from __future__ import annotations

from typing import Final

SELLER_ACTIONS: Final[tuple[str, ...]] = (
    "search",
    "select",
    "init",
    "confirm",
    "status",
    "track",
    "cancel",
    "update",
    "rating",
    "support",
)
"""Actions a buyer app (BAP) sends to a seller (BPP), in the order of a typical transaction."""

CALLBACK_ACTIONS: Final[tuple[str, ...]] = tuple(f"on_{a}" for a in SELLER_ACTIONS)
"""The asynchronous answers a seller sends back to the buyer app's ``bap_uri``."""

ALL_ACTIONS: Final[tuple[str, ...]] = SELLER_ACTIONS + CALLBACK_ACTIONS

_SELLER_SET: Final[frozenset[str]] = frozenset(SELLER_ACTIONS)
_CALLBACK_SET: Final[frozenset[str]] = frozenset(CALLBACK_ACTIONS)


def is_callback(action: str) -> bool:
    """True for the ``on_*`` callbacks."""
    return action in _CALLBACK_SET


def callback_for(action: str) -> str:
    """The callback answering ``action``: ``callback_for("search") == "on_search"``."""
    if action not in _SELLER_SET:
        raise ValueError(f"not a Beckn request action: {action!r}")
    return "on_" + action


def request_for(callback: str) -> str:
    """The request a callback answers: ``request_for("on_search") == "search"``."""
    if callback not in _CALLBACK_SET:
        raise ValueError(f"not a Beckn callback action: {callback!r}")
    return callback[3:]

"""Operator tasks straight on the database (what `mercato registry list` and `revoke` run)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mercato.db import session_factory
from mercato.protocol.onboarding import rfc3339
from mercato.registry import service, store
from mercato.registry.database import open_engine
from mercato.registry.models import Status


def list_subscribers(db_url: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every key of every subscriber, with its participations, oldest key first."""
    t = now or datetime.now(UTC)
    engine = open_engine(db_url)
    try:
        with session_factory(engine)() as session:
            out = []
            parts_cache: dict[str, list[dict[str, str]]] = {}
            for sub, key in store.all_keys(session):
                if sub.subscriber_id not in parts_cache:
                    parts_cache[sub.subscriber_id] = [
                        {
                            "type": p.type,
                            "domain": p.domain,
                            "city": p.city,
                            "subscriber_url": p.subscriber_url,
                        }
                        for p in store.participations_of(session, sub.subscriber_id)
                    ]
                out.append(
                    {
                        "subscriber_id": sub.subscriber_id,
                        "ukId": key.unique_key_id,
                        "status": service.key_status(key, t),
                        "country": sub.country,
                        "callback_url": sub.callback_url,
                        "signing_public_key": key.signing_public_key,
                        "encr_public_key": key.encr_public_key,
                        "valid_from": rfc3339(key.valid_from),
                        "valid_until": rfc3339(key.valid_until),
                        "created": rfc3339(key.created),
                        "updated": rfc3339(key.updated),
                        "participations": parts_cache[sub.subscriber_id],
                    }
                )
            return out
    finally:
        engine.dispose()


def revoke_key(db_url: str, subscriber_id: str, unique_key_id: str) -> bool:
    engine = open_engine(db_url)
    try:
        with session_factory(engine).begin() as session:
            return store.set_key_status(
                session, subscriber_id, unique_key_id, Status.REVOKED, datetime.now(UTC)
            )
    finally:
        engine.dispose()

"""Reading and writing registry rows. Every function takes an open SQLAlchemy session; the caller
owns the transaction (``with factory.begin() as session: ...``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mercato.registry.models import Participation, Status, Subscriber, SubscriberKey
from mercato.registry.schemas import LookupQuery, SubscribeClaim

MAX_LOOKUP_ROWS = 10_000


@dataclass(frozen=True)
class SubscriberState:
    """What the registry knows about one subscriber id and one signing key, before a subscribe."""

    subscriber: Subscriber | None
    keys: tuple[SubscriberKey, ...]
    key_owners: tuple[tuple[str, str], ...]  # (subscriber_id, unique_key_id) holding the claimed key


def load_state(session: Session, claim: SubscribeClaim, *, for_update: bool = False) -> SubscriberState:
    stmt = select(Subscriber).where(Subscriber.subscriber_id == claim.subscriber_id)
    if for_update:
        stmt = stmt.with_for_update()
    subscriber = session.scalars(stmt).first()
    keys = tuple(
        session.scalars(select(SubscriberKey).where(SubscriberKey.subscriber_id == claim.subscriber_id))
    )
    owners = session.execute(
        select(SubscriberKey.subscriber_id, SubscriberKey.unique_key_id).where(
            SubscriberKey.signing_public_key == claim.signing_public_key
        )
    ).all()
    return SubscriberState(subscriber, keys, tuple((o[0], o[1]) for o in owners))


def save_subscription(session: Session, claim: SubscribeClaim, now: datetime) -> None:
    """Record a subscription whose challenge was answered: subscriber, key and participations."""
    sub = session.get(Subscriber, claim.subscriber_id)
    if sub is None:
        sub = Subscriber(
            subscriber_id=claim.subscriber_id,
            country=claim.country,
            callback_url=claim.callback_url,
            status=Status.SUBSCRIBED.value,
            created=now,
            updated=now,
        )
        session.add(sub)
    else:
        sub.country = claim.country
        sub.callback_url = claim.callback_url
        sub.status = Status.SUBSCRIBED.value
        sub.updated = now
    session.flush()
    key = session.scalars(
        select(SubscriberKey).where(
            SubscriberKey.subscriber_id == claim.subscriber_id,
            SubscriberKey.unique_key_id == claim.unique_key_id,
        )
    ).first()
    if key is None:
        session.add(
            SubscriberKey(
                subscriber_id=claim.subscriber_id,
                unique_key_id=claim.unique_key_id,
                signing_public_key=claim.signing_public_key,
                encr_public_key=claim.encr_public_key,
                valid_from=claim.valid_from,
                valid_until=claim.valid_until,
                status=Status.SUBSCRIBED.value,
                created=now,
                updated=now,
            )
        )
    else:
        key.valid_from = claim.valid_from
        key.valid_until = claim.valid_until
        key.status = Status.SUBSCRIBED.value
        key.updated = now
    session.execute(delete(Participation).where(Participation.subscriber_id == claim.subscriber_id))
    session.add_all(
        Participation(
            subscriber_id=claim.subscriber_id,
            type=p.type,
            domain=p.domain,
            city=p.city,
            subscriber_url=p.subscriber_url,
        )
        for p in claim.participations
    )
    session.flush()


def set_key_status(
    session: Session, subscriber_id: str, unique_key_id: str, status: Status, now: datetime
) -> bool:
    """Mark one key (e.g. REVOKED). Returns False if there is no such key."""
    result = session.execute(
        update(SubscriberKey)
        .where(SubscriberKey.subscriber_id == subscriber_id, SubscriberKey.unique_key_id == unique_key_id)
        .values(status=status.value, updated=now, revoked_at=now if status is Status.REVOKED else None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unsubscribe(session: Session, subscriber_id: str, now: datetime) -> bool:
    """Take a subscriber off the network: every key not already revoked becomes UNSUBSCRIBED."""
    sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        return False
    sub.status = Status.UNSUBSCRIBED.value
    sub.updated = now
    session.execute(
        update(SubscriberKey)
        .where(SubscriberKey.subscriber_id == subscriber_id, SubscriberKey.status != Status.REVOKED.value)
        .values(status=Status.UNSUBSCRIBED.value, updated=now)
    )
    return True


@dataclass(frozen=True)
class LookupRow:
    subscriber: Subscriber
    key: SubscriberKey
    participation: Participation


def lookup(session: Session, q: LookupQuery, now: datetime) -> list[LookupRow]:
    """Rows for every (key, participation) pair matching the query; by default only live keys."""
    stmt = (
        select(Subscriber, SubscriberKey, Participation)
        .join(SubscriberKey, SubscriberKey.subscriber_id == Subscriber.subscriber_id)
        .join(Participation, Participation.subscriber_id == Subscriber.subscriber_id)
    )
    if q.subscriber_id is not None:
        stmt = stmt.where(Subscriber.subscriber_id == q.subscriber_id)
    if q.unique_key_id is not None:
        stmt = stmt.where(SubscriberKey.unique_key_id == q.unique_key_id)
    if q.type is not None:
        stmt = stmt.where(Participation.type == q.type)
    if q.domain is not None:
        stmt = stmt.where(Participation.domain == q.domain)
    if q.city is not None:
        stmt = stmt.where(or_(Participation.city == q.city, Participation.city == "*"))
    if q.country is not None:
        stmt = stmt.where(Subscriber.country == q.country)
    if not q.include_inactive:
        stmt = stmt.where(
            SubscriberKey.status == Status.SUBSCRIBED.value,
            SubscriberKey.valid_from <= now,
            SubscriberKey.valid_until > now,
        )
    stmt = stmt.order_by(
        Subscriber.subscriber_id,
        Participation.type,
        Participation.domain,
        Participation.city,
        SubscriberKey.valid_from,
        SubscriberKey.unique_key_id,
    ).limit(MAX_LOOKUP_ROWS)
    return [LookupRow(s, k, p) for s, k, p in session.execute(stmt).all()]


def live_keys(session: Session, subscriber_id: str, now: datetime) -> list[SubscriberKey]:
    return list(
        session.scalars(
            select(SubscriberKey).where(
                SubscriberKey.subscriber_id == subscriber_id,
                SubscriberKey.status == Status.SUBSCRIBED.value,
                SubscriberKey.valid_from <= now,
                SubscriberKey.valid_until > now,
            )
        )
    )


def all_keys(session: Session) -> list[tuple[Subscriber, SubscriberKey]]:
    stmt = (
        select(Subscriber, SubscriberKey)
        .join(SubscriberKey, SubscriberKey.subscriber_id == Subscriber.subscriber_id)
        .order_by(Subscriber.subscriber_id, SubscriberKey.valid_from, SubscriberKey.unique_key_id)
    )
    return [(s, k) for s, k in session.execute(stmt).all()]


def participations_of(session: Session, subscriber_id: str) -> list[Participation]:
    return list(
        session.scalars(
            select(Participation)
            .where(Participation.subscriber_id == subscriber_id)
            .order_by(Participation.type, Participation.domain, Participation.city)
        )
    )

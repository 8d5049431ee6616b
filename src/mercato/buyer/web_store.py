"""The storefront's rows in the buyer database: carts keyed by the browser's session cookie (a
cart outlives the session and a restart of the node) and checkouts keyed by the idempotency token
of the checkout form (a form sent twice runs the checkout once), migration ``b0002``; which session
placed which order, migration ``b0003``; the ratings this node's buyers gave, migration ``b0004``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from mercato.buyer.store import now_rfc3339

web_metadata = sa.MetaData()

carts = sa.Table(
    "buyer_web_carts",
    web_metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("lines", sa.Text(), nullable=False),  # JSON list of cart lines
    sa.Column("updated_at", sa.String(32), nullable=False),
)

checkouts = sa.Table(
    "buyer_web_checkouts",
    web_metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running | done
    sa.Column("result", sa.Text(), nullable=True),  # JSON: the checkout's per-seller results
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)


# which browser session placed which order (migration b0003): each buyer sees only their own orders
session_orders = sa.Table(
    "buyer_web_orders",
    web_metadata,
    sa.Column("order_ref", sa.String(36), primary_key=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
)


# the ratings buyers on this node gave their orders (migration b0004): shown with the sellers' offers
ratings = sa.Table(
    "buyer_web_ratings",
    web_metadata,
    sa.Column("order_ref", sa.String(36), primary_key=True),
    sa.Column("bpp_id", sa.String(255), nullable=False),
    sa.Column("provider_id", sa.String(255), nullable=False),
    sa.Column("value", sa.Integer(), nullable=False),  # 1 to 5
    sa.Column("rated_at", sa.String(32), nullable=False),
)


class WebStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- carts ------------------------------------------------------------------------------

    def cart(self, session_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(carts.c.lines).where(carts.c.session_id == session_id)).scalar()
        if not raw:
            return []
        lines = orjson.loads(raw)
        return [ln for ln in lines if isinstance(ln, dict)] if isinstance(lines, list) else []

    def save_cart(self, session_id: str, lines: list[dict[str, Any]]) -> None:
        data = orjson.dumps(lines).decode()
        t = now_rfc3339()
        with self.engine.begin() as conn:
            done = conn.execute(
                carts.update().where(carts.c.session_id == session_id).values(lines=data, updated_at=t)
            ).rowcount
            if not done:
                try:
                    with conn.begin_nested():
                        conn.execute(carts.insert().values(session_id=session_id, lines=data, updated_at=t))
                except IntegrityError:  # created meanwhile by a concurrent request
                    conn.execute(
                        carts.update()
                        .where(carts.c.session_id == session_id)
                        .values(lines=data, updated_at=t)
                    )

    # --- whose orders -----------------------------------------------------------------------

    def own_orders(self, session_id: str, refs: list[str]) -> None:
        with self.engine.begin() as conn:
            for ref in refs:
                try:
                    with conn.begin_nested():
                        conn.execute(session_orders.insert().values(order_ref=ref, session_id=session_id))
                except IntegrityError:
                    pass

    def order_refs(self, session_id: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(session_orders.c.order_ref).where(session_orders.c.session_id == session_id)
            ).all()
        return {r[0] for r in rows}

    def owns(self, session_id: str, ref: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(session_orders.c.session_id).where(session_orders.c.order_ref == ref)
            ).first()
        return row is not None and row[0] == session_id

    # --- ratings ----------------------------------------------------------------------------

    def rate(self, order_ref: str, bpp_id: str, provider_id: str, value: int) -> None:
        """Record this node's rating of an order (a new rating of the same order replaces it)."""
        t = now_rfc3339()
        with self.engine.begin() as conn:
            conn.execute(ratings.delete().where(ratings.c.order_ref == order_ref))
            conn.execute(
                ratings.insert().values(
                    order_ref=order_ref, bpp_id=bpp_id, provider_id=provider_id, value=value, rated_at=t
                )
            )

    def rating_of(self, order_ref: str) -> int | None:
        with self.engine.connect() as conn:
            v = conn.execute(sa.select(ratings.c.value).where(ratings.c.order_ref == order_ref)).scalar()
        return None if v is None else int(v)

    def seller_ratings(self) -> dict[tuple[str, str], tuple[float, int]]:
        """(seller, provider) -> (average rating, number of ratings) given by this node's buyers."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    ratings.c.bpp_id, ratings.c.provider_id, sa.func.sum(ratings.c.value), sa.func.count()
                ).group_by(ratings.c.bpp_id, ratings.c.provider_id)
            ).all()
        return {(r[0], r[1]): (int(r[2]) / int(r[3]), int(r[3])) for r in rows}

    # --- checkouts --------------------------------------------------------------------------

    def claim_checkout(self, token: str, session_id: str) -> bool:
        """True when this call may run the checkout of ``token``; False when another one did or does."""
        t = now_rfc3339()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    checkouts.insert().values(
                        token=token, session_id=session_id, state="running", created_at=t, updated_at=t
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish_checkout(self, token: str, result: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                checkouts.update()
                .where(checkouts.c.token == token)
                .values(state="done", result=orjson.dumps(result).decode(), updated_at=now_rfc3339())
            )

    def checkout(self, token: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(checkouts).where(checkouts.c.token == token)).first()
        if row is None:
            return None
        return {
            "token": row.token,
            "session_id": row.session_id,
            "state": row.state,
            "result": orjson.loads(row.result) if row.result else None,
        }

    def wait_checkout(self, token: str, timeout_s: float, poll_s: float = 0.1) -> dict[str, Any] | None:
        """The checkout once it is done (or as it stands when ``timeout_s`` ran out)."""
        ends = time.monotonic() + timeout_s
        while True:
            found = self.checkout(token)
            if found is None or found["state"] == "done" or time.monotonic() >= ends:
                return found
            time.sleep(poll_s)

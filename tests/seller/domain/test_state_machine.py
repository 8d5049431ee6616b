"""Random sequences of everything a node does; the invariants must hold after every step."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mercato.seller.domain import (
    TRANSITIONS,
    Action,
    CancellationRefused,
    FulfillmentType,
    IllegalTransition,
    InsufficientStock,
    InvalidCancellationReason,
    InvalidInput,
    LineRequest,
    NegativeStock,
    Order,
    PaymentType,
    QuoteChanged,
    RefundTooLarge,
    ReturnRefused,
    StockBook,
)
from mercato.seller.domain.cancellation import Party, cancel_lines, cancel_order
from mercato.seller.domain.orders import START, apply, create_order, reserved_by_orders
from mercato.seller.domain.quotes import Quote, build_quote
from mercato.seller.domain.returns import ReturnRequest, ReturnState, approve, receive, refund, request_return

from .shop import DELIVERY, T0, WELCOME, make_catalog, make_stock

ITEMS = ["A", "B", "C-M", "C-L"]
ACTIONS = [a for a in Action if a is not Action.CANCEL]
CODES = ["002", "003", "005", "010", "012", "013", "020", "998", "404"]


class Shop(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.catalog = make_catalog()
        self.stock = make_stock()
        self.orders: list[Order] = []
        self.returns: list[ReturnRequest] = []
        self.quotes: list[Quote] = []
        self.now = T0
        self.seq = 0

    def _tick(self) -> None:
        self.now += timedelta(minutes=7)

    @rule(
        lines=st.dictionaries(st.sampled_from(ITEMS), st.integers(-1, 7), min_size=1, max_size=3),
        pickup=st.booleans(),
        offer=st.booleans(),
    )
    def quote(self, lines: dict[str, int], pickup: bool, offer: bool) -> None:
        try:
            q = build_quote(
                self.catalog,
                self.stock,
                "P1",
                [LineRequest(i, n) for i, n in lines.items()],
                FulfillmentType.PICKUP if pickup else FulfillmentType.DELIVERY,
                DELIVERY,
                [WELCOME] if offer else [],
            )
        except InvalidInput:
            assert any(not 1 <= n <= self.catalog.item(i).max_quantity for i, n in lines.items())
            return
        except Exception as e:  # unserviceable (self-pickup of a delivery-only item)
            assert pickup, e
            return
        self.quotes.append(q)

    @precondition(lambda self: self.quotes)
    @rule(data=st.data(), payment=st.sampled_from(list(PaymentType)))
    def confirm(self, data: st.DataObject, payment: PaymentType) -> None:
        earlier = data.draw(st.sampled_from(self.quotes))
        fresh = build_quote(
            self.catalog,
            self.stock,
            "P1",
            [LineRequest(ln.item_id, ln.quantity) for ln in earlier.lines],
            earlier.fulfillment_type,
            DELIVERY,
            earlier.offers,
        )
        before = (dict(self.stock.levels), len(self.stock.ledger))
        self.seq += 1
        self._tick()
        try:
            order, _ = create_order(
                self.catalog, self.stock, f"O{self.seq}", fresh, self.now, earlier, payment
            )
        except (InsufficientStock, QuoteChanged) as e:
            assert (dict(self.stock.levels), len(self.stock.ledger)) == before
            if isinstance(e, InsufficientStock):
                for item_id, (req, left) in e.shortages.items():
                    assert left < req == fresh.line(item_id).quantity
            return
        self.orders.append(order)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def move(self, data: st.DataObject, action: Action, order: Order | None = None) -> None:
        order = order or data.draw(st.sampled_from(self.orders))
        allowed = order.allowed_actions()
        status = order.status
        self._tick()
        try:
            apply(order, action, self.stock, self.now)
        except IllegalTransition as e:
            assert action not in allowed and list(e.allowed) == [a.value for a in allowed]
            assert order.status == status
            return
        except NegativeStock:  # shipping a backordered line before the goods arrived
            assert action in (Action.PICK_UP, Action.COLLECT) and order.status == status
            return
        assert action in allowed

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), steps=st.integers(1, 6))
    def advance(self, data: st.DataObject, steps: int) -> None:
        """Take a few allowed actions in a row (random actions alone rarely get far)."""
        order = data.draw(st.sampled_from(self.orders))
        for _ in range(steps):
            allowed = [a for a in order.allowed_actions() if a is not Action.CANCEL]
            if not allowed:
                return
            self.move(data, data.draw(st.sampled_from(allowed)), order)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), code=st.sampled_from(CODES), party=st.sampled_from(list(Party)))
    def cancel(self, data: st.DataObject, code: str, party: Party) -> None:
        order = data.draw(st.sampled_from(self.orders))
        self._tick()
        refunded = order.refunded
        try:
            c = cancel_order(order, self.catalog, self.stock, code, party, self.now)
        except (CancellationRefused, InvalidCancellationReason):
            return
        assert order.refunded == refunded + c.refund

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), code=st.sampled_from(["002", "012", "005"]))
    def cancel_part(self, data: st.DataObject, code: str) -> None:
        order = data.draw(st.sampled_from(self.orders))
        lines = [ln for ln in order.lines if ln.quantity]
        if not lines:
            return
        ln = data.draw(st.sampled_from(lines))
        q = data.draw(st.integers(1, ln.quantity))
        self._tick()
        try:
            cancel_lines(order, self.catalog, self.stock, {ln.item_id: q}, code, Party.SELLER, self.now)
        except (CancellationRefused, InvalidCancellationReason):
            return

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), qty=st.integers(1, 3), days=st.integers(0, 12))
    def request_return(self, data: st.DataObject, qty: int, days: int) -> None:
        order = data.draw(st.sampled_from(self.orders))
        item_id = data.draw(st.sampled_from([ln.item_id for ln in order.lines]))
        self.seq += 1
        when = self.now + timedelta(days=days)
        try:
            r = request_return(
                order, self.catalog, f"R{self.seq}", item_id, qty, "changed mind", when, self.returns
            )
        except ReturnRefused:
            return
        assert order.delivered_at is not None
        assert when <= order.delivered_at + self.catalog.item(item_id).return_window
        self.returns.append(r)

    @precondition(lambda self: self.returns)
    @rule(data=st.data(), restock=st.booleans(), steps=st.integers(1, 3))
    def progress_return(self, data: st.DataObject, restock: bool, steps: int) -> None:
        r = data.draw(st.sampled_from(self.returns))
        order = next(o for o in self.orders if o.id == r.order_id)
        for _ in range(steps):
            self._tick()
            self._return_step(r, order, restock)

    def _return_step(self, r: ReturnRequest, order: Order, restock: bool) -> None:
        try:
            if r.state is ReturnState.REQUESTED:
                approve(r, self.now)
            elif r.state is ReturnState.APPROVED:
                receive(r, order, self.stock, self.now, restock)
            elif r.state is ReturnState.RECEIVED:
                refund(r, order, self.now)
        except RefundTooLarge:
            assert order.paid - order.refunded < r.refund

    @rule(item=st.sampled_from(ITEMS), loc=st.sampled_from(["L1", "L2"]), delta=st.integers(-4, 6))
    def adjust(self, item: str, loc: str, delta: int) -> None:
        self._tick()
        try:
            if delta > 0 and delta % 2:
                self.stock.receive(item, loc, delta, self.now, reason="delivery from supplier")
            else:
                self.stock.adjust(item, loc, delta, self.now, reason="stock count")
        except (NegativeStock, InvalidInput):
            pass

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def stock_never_negative(self) -> None:
        for lvl in self.stock.levels.values():
            assert lvl.on_hand >= 0 and lvl.reserved >= 0
            assert lvl.backorder or lvl.reserved <= lvl.on_hand

    @invariant()
    def reserved_equals_open_orders(self) -> None:
        held = reserved_by_orders(self.orders)
        keys = set(held) | {k for k, v in self.stock.levels.items() if v.reserved}
        assert {k: self.stock.level(*k).reserved for k in keys} == {k: held.get(k, 0) for k in keys}
        for o in self.orders:
            for ln in o.lines:
                assert sum(a.quantity for a in ln.allocations) == ln.quantity

    @invariant()
    def only_table_transitions(self) -> None:
        for o in self.orders:
            status = START
            for change in o.history:
                assert change.before == status
                assert TRANSITIONS[status][change.action].to == change.after
                status = change.after
            assert status == o.status

    @invariant()
    def money_adds_up(self) -> None:
        for q in self.quotes:
            assert q.total.amount == (
                sum(ln.amount.amount for ln in q.lines)
                + q.delivery.amount
                + q.tax_total.amount
                - q.discount_total.amount
            )
        for o in self.orders:
            q = o.quote
            assert q.total.amount == (
                sum(ln.amount.amount for ln in q.lines)
                + q.delivery.amount
                + q.tax_total.amount
                - q.discount_total.amount
            )
            assert 0 <= o.refunded.amount <= o.paid.amount <= o.original_quote.total.amount
            assert q.total <= o.original_quote.total
            assert {ln.item_id: ln.quantity for ln in o.lines if ln.quantity} == q.quantities()
            if o.payment_type is PaymentType.ON_ORDER and o.state.value != "Cancelled":
                # prepaid: what was kept equals the current total, less return refunds
                returned = sum(
                    r.refund.amount
                    for r in self.returns
                    if r.order_id == o.id and r.state is ReturnState.REFUNDED
                )
                assert o.paid.amount - o.refunded.amount == q.total.amount - returned

    @invariant()
    def ledger_replays(self) -> None:
        assert StockBook.replay(self.stock.ledger).snapshot() == self.stock.snapshot()


Shop.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestShop = Shop.TestCase

"""Errors of the supply twin: bad input names every problem; nothing is stored on error."""

from __future__ import annotations

from collections.abc import Sequence


class SupplyInputError(ValueError):
    """The twin (or a request against it) is invalid; ``problems`` lists one message per problem."""

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems) or ["invalid supply input"]
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(self.problems))


class PromiseUnavailable(ValueError):
    """No date can be promised for a line (no stock, no receipt, no capacity, no lane to the city)."""

    def __init__(self, item_id: str, reason: str) -> None:
        self.item_id = item_id
        self.reason = reason
        super().__init__(f"{item_id}: {reason}")

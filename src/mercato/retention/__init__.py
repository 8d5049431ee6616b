"""mercato.retention: cohorts, RFM, customer-base models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma),
CLV, churn-risk lists and reports, over any table of (customer_id, timestamp, amount)."""

from __future__ import annotations

from mercato.retention.errors import InputError, NotIdentifiableError, RetentionError

__all__ = ["InputError", "NotIdentifiableError", "RetentionError"]

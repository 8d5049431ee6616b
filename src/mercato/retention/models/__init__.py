"""Customer-base models (BG/NBD, MBG/NBD, Pareto/NBD) and the Gamma-Gamma spend model."""

from __future__ import annotations

from mercato.retention.models.base import CustomerModel
from mercato.retention.models.bgnbd import BGNBD
from mercato.retention.models.fitting import FitResult, Grouped, group_rows
from mercato.retention.models.gammagamma import GammaGamma
from mercato.retention.models.mbgnbd import MBGNBD
from mercato.retention.models.pnbd import ParetoNBD

MODELS: dict[str, type[CustomerModel]] = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pnbd": ParetoNBD}

__all__ = [
    "BGNBD",
    "MBGNBD",
    "MODELS",
    "CustomerModel",
    "FitResult",
    "GammaGamma",
    "Grouped",
    "ParetoNBD",
    "group_rows",
]

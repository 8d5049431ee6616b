"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD with drop-out possible at the first purchase."""

from __future__ import annotations

from mercato.retention.models.bgnbd import BGNBD


class MBGNBD(BGNBD):
    """Modified BG/NBD: drop-out also possible at the first purchase (a one-time buyer may be gone)."""

    name = "mbgnbd"
    _k = 1

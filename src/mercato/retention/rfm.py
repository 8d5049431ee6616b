"""RFM: recency, frequency and monetary scores by quantile, and named segments.

Scores run from 1 to ``bins`` (higher is better: more recent, more frequent, more spent). Ties share a
score (the lowest rank of the tie), so a large group of one-time buyers all score F = 1. Segments are
rules on the R and F scores (and optionally M), first match wins; the defaults are written for five bins
and applied to other bin counts after rescaling scores to 1..5."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mercato.retention.days import Days, customer_starts, days
from mercato.retention.errors import InputError
from mercato.retention.summary import to_date


@dataclass(frozen=True)
class Segment:
    name: str
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)


DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment("Champions", r=(4, 5), f=(4, 5)),
    Segment("Loyal customers", r=(3, 5), f=(3, 5)),
    Segment("New customers", r=(5, 5), f=(1, 1)),
    Segment("Potential loyalists", r=(4, 5), f=(1, 3)),
    Segment("Need attention", r=(3, 3), f=(1, 2)),
    Segment("Can't lose them", r=(1, 1), f=(4, 5)),
    Segment("At risk", r=(1, 2), f=(3, 5)),
    Segment("About to sleep", r=(2, 2), f=(1, 2)),
    Segment("Lost", r=(1, 1), f=(1, 2)),
)
OTHER = "Other"


def load_segments(path: str | Path) -> list[Segment]:
    """Segments from JSON or TOML: a list (or ``segments = [...]``) of {name, r, f, m}, ranges [lo, hi]."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read segments: {e}", source=str(p)) from e
    items = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError("expected a non-empty list of segments", source=str(p))
    out = []
    for i, item in enumerate(items):
        try:
            rng = {k: tuple(int(v) for v in item.get(k, (1, 5))) for k in ("r", "f", "m")}
            if any(len(v) != 2 or v[0] > v[1] for v in rng.values()):
                raise ValueError("ranges are [low, high]")
            out.append(Segment(str(item["name"]), r=rng["r"], f=rng["f"], m=rng["m"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputError(f"segment {i + 1}: {e}", source=str(p)) from e
    return out


def _min_rank(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, ties sharing the lowest rank (as ``rank("min")``)."""
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * len(values) + 1024:  # small integer range: count instead of sorting
            counts = np.bincount(values - lo, minlength=hi - lo + 1)
            below = np.cumsum(counts) - counts
            ranks: np.ndarray = below[values - lo] + 1
            return ranks
    return pl.Series(values).rank("min").to_numpy().astype(np.int64)


def _score(values: np.ndarray, bins: int) -> np.ndarray:
    n = max(len(values), 1)
    return ((_min_rank(values) - 1) * bins // n + 1).astype(np.int8)


def rfm_table(
    frame: pl.DataFrame | pl.LazyFrame | Days,
    *,
    as_of: str | dt.date | None = None,
    bins: int = 5,
    segments: tuple[Segment, ...] | list[Segment] | None = None,
    minor_per_major: int = 100,
) -> pl.DataFrame:
    """One row per customer: recency_days, frequency (purchase days), monetary (net revenue), the three
    scores, ``rfm`` (e.g. ``"545"``) and ``segment``."""
    if bins < 2:
        raise ValueError("RFM needs at least 2 bins")
    dd = days(frame)
    end = to_date(as_of, "as-of date")
    t = dd.table  # sorted by (cust, day): each customer is a run, aligned with dd.names
    starts = customer_starts(dd)
    day = t["day"].to_physical().to_numpy()
    value = t["value"].to_numpy()
    purchase = t["purchase"].to_numpy()
    if end is not None:
        upto = day <= (end - dt.date(1970, 1, 1)).days
        value = np.where(upto, value, 0)
        purchase = purchase & upto
    if len(starts):
        frequency = np.add.reduceat(purchase.astype(np.int64), starts)
        monetary = np.add.reduceat(value, starts)
        last = np.maximum.reduceat(np.where(purchase, day, np.iinfo(np.int32).min), starts)
    else:
        frequency = monetary = last = np.zeros(0, dtype=np.int64)
    has = frequency > 0
    frequency, monetary, last = frequency[has], monetary[has], last[has]
    ref = (end - dt.date(1970, 1, 1)).days if end is not None else (int(last.max()) if len(last) else 0)
    recency = (ref - last).astype(np.int64)
    r, f, m = _score(-recency, bins), _score(frequency, bins), _score(monetary, bins)
    segs = tuple(segments) if segments is not None else DEFAULT_SEGMENTS
    scale = 5 if segments is None else bins

    def scaled(c: np.ndarray) -> np.ndarray:
        return c if scale == bins else (c.astype(np.int32) * scale + bins - 1) // bins

    rs, fs, ms = scaled(r), scaled(f), scaled(m)
    seg = np.full(len(r), len(segs), dtype=np.uint32)  # OTHER
    for i in range(len(segs) - 1, -1, -1):  # first match wins
        sg = segs[i]
        cond = (rs >= sg.r[0]) & (rs <= sg.r[1]) & (fs >= sg.f[0]) & (fs <= sg.f[1])
        seg[cond & (ms >= sg.m[0]) & (ms <= sg.m[1])] = i
    out = pl.DataFrame(
        {
            "customer_id": dd.names["customer_id"].filter(pl.Series(has)),
            "recency_days": recency,
            "frequency": pl.Series(frequency, dtype=pl.Int64),
            "monetary": pl.Series(monetary, dtype=pl.Int64) / float(minor_per_major),
            "r": r,
            "f": f,
            "m": m,
            "segment": pl.Series([sg.name for sg in segs] + [OTHER], dtype=pl.Utf8).gather(seg),
        }
    ).lazy()
    if bins <= 20:  # the label of each of the bins**3 cells, looked up (faster than joining strings)
        labels = pl.Series(
            [f"{a}{b}{c}" for a in range(1, bins + 1) for b in range(1, bins + 1) for c in range(1, bins + 1)]
        )
        cell = ((r.astype(np.int64) - 1) * bins + f - 1) * bins + m - 1
        out = out.with_columns(rfm=labels.gather(cell))
    else:
        out = out.with_columns(
            rfm=pl.concat_str(pl.col("r").cast(pl.Utf8), pl.col("f").cast(pl.Utf8), pl.col("m").cast(pl.Utf8))
        )
    return (
        out.select("customer_id", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm", "segment")
        .sort("customer_id")
        .collect()
    )


def segment_summary(
    rfm: pl.DataFrame, segments: tuple[Segment, ...] | list[Segment] | None = None
) -> pl.DataFrame:
    """Customers and revenue per segment (in the segments' order, empty ones included)."""
    names = [s.name for s in (segments if segments is not None else DEFAULT_SEGMENTS)] + [OTHER]
    total_c = max(rfm.height, 1)
    total_r = float(rfm["monetary"].sum()) if rfm.height else 0.0
    agg = rfm.group_by("segment").agg(
        customers=pl.len().cast(pl.Int64),
        revenue=pl.col("monetary").sum(),
        mean_recency_days=pl.col("recency_days").mean(),
        mean_frequency=pl.col("frequency").mean(),
    )
    order = pl.DataFrame({"segment": names, "_order": list(range(len(names)))})
    out = order.join(agg, on="segment", how="left").sort("_order").drop("_order")
    out = out.with_columns(pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0))
    out = out.filter((pl.col("customers") > 0) | (pl.col("segment") != OTHER))
    return out.with_columns(
        share_customers=pl.col("customers") / total_c,
        share_revenue=pl.col("revenue") / total_r if total_r else pl.lit(0.0),
    )

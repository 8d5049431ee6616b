"""Plots of the supply twin for people: promise dates against quantity, and a line's schedule.

Uses matplotlib's Agg backend (no display); each function writes one PNG and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from .model import Downtime, Twin
from .promise import Plan
from .schedule import Slot


def promise_curve(twin: Twin, today: date, item: str, city: str, quantities: Sequence[int],
                  out: Path, downtimes: Sequence[Downtime] = ()) -> Path:  # fmt: skip
    """Promised delivery (days from ``today``) for one order of each quantity, without and with
    ``downtimes``; ATP (stock) and CTP (production) points marked apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
    variants = [("no disruption", twin, "o")]
    if downtimes:
        variants.append((f"line down {downtimes[0].start:%d %b}–{downtimes[0].end:%d %b}",
                         twin.with_downtimes(downtimes), "x"))  # fmt: skip
    for label, t, marker in variants:
        xs, ys, src = [], [], []
        for q in quantities:
            p = Plan(t, today).promise([(item, q)], city)
            xs.append(q)
            ys.append((p.delivery_date - today).days)
            src.append(p.lines[0].source.value)
        ax.step(xs, ys, where="post", label=label, alpha=0.7)
        for s, color in (("stock", "tab:green"), ("receipt", "tab:blue"), ("production", "tab:orange")):
            pts = [(x, y) for x, y, z in zip(xs, ys, src, strict=True) if z == s]
            if pts:
                px, py = zip(*pts, strict=True)
                ax.scatter(px, py, marker=marker, color=color, s=18, label=f"{s} ({label})")
    ax.set_ylabel("promised delivery (days from today)")
    ax.set_title(f"Promise dates for {item} to {city}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def schedule_gantt(slots: Sequence[Slot], today: date, out: Path, downtimes: Sequence[Downtime] = ()) -> Path:
    """One bar per production order from start to finish, red when it finishes after its due day (|)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 * len(slots) + 1.4), dpi=120)
    for row, s in enumerate(slots):
        left = (s.start - today).days
        width = (s.finish - s.start).days + 1
        ax.barh(row, width, left=left, color="tab:red" if s.late_days else "tab:blue", alpha=0.8)
        ax.plot([(s.job.due - today).days + 1] * 2, [row - 0.4, row + 0.4], color="black")
    for d in downtimes:
        ax.axvspan((d.start - today).days, (d.end - today).days + 1, color="grey", alpha=0.25,
                   label=f"{d.line} down")  # fmt: skip
    ax.set_yticks(
        range(len(slots)), [f"{s.job.id} ({s.job.quantity} × {s.job.item})" for s in slots], fontsize=7
    )
    ax.set_xlabel(f"days from {today:%d %b %Y} (| = due)")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    if downtimes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def doc_figures(out_dir: str | Path = "docs/images") -> list[Path]:
    """The figures of docs/supply.md, on the seed manufacturer's twin (150 bottles in stock, the press
    down 26–28 Nov 2026, five orders promised before it goes down)."""
    from mercato.network import seeds

    from .parse import parse_twin
    from .schedule import late_jobs

    out = Path(out_dir)
    today = date(2026, 11, 25)
    doc = seeds.twin_document(seeds.MANUFACTURER)
    loc = doc["locations"][0]["id"]
    doc["stock"].append({"item": "bottle-1l", "location": loc, "quantity": 150})
    twin = parse_twin(doc)
    down = [Downtime("press-1", today + timedelta(days=1), today + timedelta(days=3), "die change")]
    curve = promise_curve(twin, today, "bottle-1l", seeds.CITY, list(range(10, 1001, 10)),
                          out / "supply-promise-curve.png", down)  # fmt: skip
    plan = Plan(twin, today)
    orders = [
        ("tiffin-3tier", 40),
        ("bottle-1l", 300),
        ("kadai-28cm", 25),
        ("plate-set-6", 60),
        ("rack-wall", 12),
    ]
    for k, (item, q) in enumerate(orders):
        plan.commit(plan.promise([(item, q)], seeds.CITY, ref=f"order-{k + 1}"))
    plan.twin = plan.twin.with_downtimes(down)
    slots = sorted(plan.slots().values(), key=lambda s: (s.start, s.job.id))
    assert late_jobs(slots), "the figure is meant to show late orders"
    return [curve, schedule_gantt(slots, today, out / "supply-schedule-late.png", down)]

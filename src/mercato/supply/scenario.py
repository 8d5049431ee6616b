"""Simulation scenarios: a supply twin plus demand, replenishment policies and what-if events.

A scenario file is JSON or TOML (by extension). Top level::

    start = "2026-01-05"     # first simulated day (default 2026-01-01)
    days = 365               # default length (the CLI's --days overrides it)
    seed = 7                 # random seed (same seed, same run)
    warmup_days = 0          # days left out of the figures (the start-up transient)
    [twin]                   # the twin in the format of docs/supply.md: calendars, locations,
                             # lanes, items, stock, lines, bom, receipts, downtime

    [[demand]]               # customer demand at one item/location
    item = "tee"; location = "store-1"
    mean = 12.0              # units per day
    sd = 4.0                 # for the normal distributions (default: sqrt(mean))
    distribution = "poisson" # poisson | normal (rounded, >= 0) | continuous (normal, not rounded)
    weekly = [1, 1, 1, 1, 1, 1.4, 1.4]   # optional Monday..Sunday factors (their mean is made 1)
    stockout_cost = 5.0      # per unit backordered per day (optional)

    [[policy]]               # how one item/location is replenished
    item = "tee"; location = "store-1"
    type = "base_stock"      # base_stock (level) | s_S (reorder_point, order_up_to)
                             # | r_Q (reorder_point, quantity)
    source = "wh-1"          # a location (lead time = the lane's transit days), "supplier" (the item's
                             # lead_time_days) or "production" (the factory's lines that make the item)
    level = 80               # omit the levels to size them from the demand: service_level (default 0.95)
    holding_cost = 0.1       # per unit on hand per day; goods in transit to a location are charged
                             # at their origin's rate

    [[event]]                # what-if: line_down (line), demand_spike (factor; item and/or location
    type = "line_down"       # narrow it), late_supplier (delay_days; item narrows it)
    line = "L1"; start = "2026-03-02"; days = 5     # start: a date or a day offset from the start

Validation collects every problem (unknown items, locations or lines, negative lead times or
quantities, an unknown key, a cycle in the sources, ...) and raises ``SupplyInputError`` naming
them; nothing runs on an invalid scenario.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import SupplyInputError
from .model import LocationKind, Twin
from .parse import parse_twin

POLICY_TYPES = ("base_stock", "s_S", "r_Q")
DISTRIBUTIONS = ("poisson", "normal", "continuous")
EVENT_TYPES = ("line_down", "demand_spike", "late_supplier")


@dataclass(frozen=True)
class DemandSpec:
    item: str
    location: str
    mean: float
    sd: float
    distribution: str = "poisson"
    weekly: tuple[float, ...] = (1.0,) * 7
    stockout_cost: float = 0.0


@dataclass(frozen=True)
class PolicySpec:
    item: str
    location: str
    type: str
    source: str  # a location id, "supplier" or "production"
    level: float | None = None  # base_stock: S
    reorder_point: float | None = None  # s_S: s, r_Q: r
    order_up_to: float | None = None  # s_S: S
    quantity: float | None = None  # r_Q: Q
    service_level: float = 0.95
    holding_cost: float = 0.0


@dataclass(frozen=True)
class Event:
    type: str
    start: int  # day offset from the scenario start
    days: int
    line: str = ""
    item: str = ""
    location: str = ""
    factor: float = 1.0
    delay_days: int = 0


@dataclass(frozen=True)
class Scenario:
    twin: Twin
    start: date = date(2026, 1, 1)
    days: int = 365
    seed: int = 0
    warmup_days: int = 0
    demand: tuple[DemandSpec, ...] = ()
    policies: tuple[PolicySpec, ...] = ()
    events: tuple[Event, ...] = field(default_factory=tuple)


def _num(row: Mapping[str, Any], key: str, where: str, problems: list[str], low: float | None = 0.0,
         default: float | None = None, strict: bool = False) -> float | None:  # fmt: skip
    value = row.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"{where}: {key!r} must be a number")
        return default
    if low is not None and (value < low or (strict and value == low)):
        problems.append(f"{where}: {key!r} is {value}; it must be {'>' if strict else '>='} {low:g}")
        return default
    return float(value)


def _int(
    row: Mapping[str, Any], key: str, where: str, problems: list[str], default: int, low: int = 0
) -> int:
    value = row.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: {key!r} must be an integer")
        return default
    if value < low:
        problems.append(f"{where}: {key!r} is {value}; it must be >= {low}")
        return default
    return value


def _keys(row: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    for k in sorted(set(row) - allowed):
        problems.append(f"{where}: unknown key {k!r}")


def _table_list(
    data: Mapping[str, Any], key: str, problems: list[str]
) -> list[tuple[str, Mapping[str, Any]]]:
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list of tables")
        return []
    out = []
    for i, row in enumerate(value):
        if isinstance(row, Mapping):
            out.append((f"{key}[{i}]", row))
        else:
            problems.append(f"{key}[{i}]: expected a table")
    return out


def _parse_start(value: Any, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def parse_scenario(data: Mapping[str, Any], source: str | None = None) -> Scenario:
    """Validate a scenario mapping; raise ``SupplyInputError`` listing every problem."""
    if not isinstance(data, Mapping):
        raise SupplyInputError(["expected a table at the top level"], source)
    problems: list[str] = []
    _keys(
        data,
        {"start", "days", "seed", "warmup_days", "twin", "demand", "policy", "event"},
        "scenario",
        problems,
    )
    twin_raw = data.get("twin")
    if not isinstance(twin_raw, Mapping):
        raise SupplyInputError(
            problems + ["scenario: 'twin' (a table: locations, items, ...) is required"], source
        )
    try:
        twin = parse_twin(twin_raw)
    except SupplyInputError as exc:
        raise SupplyInputError(problems + [f"twin: {p}" for p in exc.problems], source) from exc
    start = _parse_start(data.get("start", "2026-01-01"), "scenario.start", problems) or date(2026, 1, 1)
    days = _int(data, "days", "scenario", problems, 365, 1)
    seed = _int(data, "seed", "scenario", problems, 0)
    warmup = _int(data, "warmup_days", "scenario", problems, 0)

    def item_loc(row: Mapping[str, Any], where: str, required: bool = True) -> tuple[str, str]:
        item, loc = row.get("item", ""), row.get("location", "")
        for key, value, known in (("item", item, twin.has_item), ("location", loc, twin.has_location)):
            if not isinstance(value, str) or (required and not value):
                problems.append(f"{where}: {key!r} must be a non-empty string")
            elif value and not known(value):
                problems.append(f"{where}: unknown {key} {value!r}")
        return str(item or ""), str(loc or "")

    demand: list[DemandSpec] = []
    seen: set[tuple[str, str]] = set()
    for where, row in _table_list(data, "demand", problems):
        _keys(
            row,
            {"item", "location", "mean", "sd", "distribution", "weekly", "stockout_cost"},
            where,
            problems,
        )
        item, loc = item_loc(row, where)
        mean = _num(row, "mean", where, problems, default=0.0) or 0.0
        sd = _num(row, "sd", where, problems, default=math.sqrt(mean)) or 0.0
        dist = row.get("distribution", "poisson")
        if dist not in DISTRIBUTIONS:
            problems.append(
                f"{where}: 'distribution' must be one of {', '.join(DISTRIBUTIONS)} (got {dist!r})"
            )
        weekly_raw = row.get("weekly", [1.0] * 7)
        weekly: tuple[float, ...] = (1.0,) * 7
        if (
            not isinstance(weekly_raw, list)
            or len(weekly_raw) != 7
            or any(isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0 for x in weekly_raw)
            or sum(weekly_raw) <= 0
        ):
            problems.append(f"{where}: 'weekly' must be 7 numbers >= 0 (Monday..Sunday), not all 0")
        else:
            m = sum(weekly_raw) / 7
            weekly = tuple(float(x) / m for x in weekly_raw)
        if (item, loc) in seen:
            problems.append(f"{where}: demand for {item!r} at {loc!r} is given twice")
        seen.add((item, loc))
        stockout = _num(row, "stockout_cost", where, problems, default=0.0) or 0.0
        demand.append(DemandSpec(item, loc, mean, sd, str(dist), weekly, stockout))

    policies: list[PolicySpec] = []
    pseen: set[tuple[str, str]] = set()
    pkeys = {"item", "location", "type", "source", "level", "reorder_point", "order_up_to", "quantity",
             "service_level", "holding_cost"}  # fmt: skip
    for where, row in _table_list(data, "policy", problems):
        _keys(row, pkeys, where, problems)
        item, loc = item_loc(row, where)
        ptype = row.get("type", "base_stock")
        if ptype not in POLICY_TYPES:
            problems.append(f"{where}: 'type' must be one of {', '.join(POLICY_TYPES)} (got {ptype!r})")
        src = row.get("source", "supplier")
        if not isinstance(src, str) or not src:
            problems.append(f"{where}: 'source' must be a location, 'supplier' or 'production'")
            src = "supplier"
        elif src == "production":
            if item and loc and twin.has_location(loc):
                makers = [ln for ln in twin.lines_making(item) if ln.location == loc]
                if twin.location(loc).kind is not LocationKind.FACTORY or not makers:
                    problems.append(f"{where}: no line at {loc!r} makes {item!r} (source 'production')")
        elif src != "supplier":
            if not twin.has_location(src):
                problems.append(f"{where}: unknown source location {src!r}")
            elif loc and twin.has_location(loc) and twin.transit_days(src, loc) is None:
                problems.append(f"{where}: no lane from {src!r} to {loc!r}")
            elif src == loc:
                problems.append(f"{where}: {loc!r} cannot be its own source")
        svc = _num(row, "service_level", where, problems, default=0.95) or 0.95
        if not 0 < svc < 1:
            problems.append(f"{where}: 'service_level' must be between 0 and 1 (exclusive), got {svc}")
        params = {
            k: _num(row, k, where, problems, low=None) for k in ("level", "reorder_point", "order_up_to")
        }
        qty = _num(row, "quantity", where, problems, default=None, strict=True)
        if ptype == "s_S" and (params["reorder_point"] is None) != (params["order_up_to"] is None):
            problems.append(
                f"{where}: an s_S policy needs both 'reorder_point' and 'order_up_to' (or neither)"
            )
        if ptype == "s_S" and params["reorder_point"] is not None and params["order_up_to"] is not None:
            if params["order_up_to"] <= params["reorder_point"]:
                problems.append(f"{where}: 'order_up_to' must be above 'reorder_point'")
        if (item, loc) in pseen:
            problems.append(f"{where}: a policy for {item!r} at {loc!r} is given twice")
        pseen.add((item, loc))
        hold = _num(row, "holding_cost", where, problems, default=0.0) or 0.0
        policies.append(PolicySpec(item, loc, str(ptype), src, params["level"], params["reorder_point"],
                                   params["order_up_to"], qty, svc, hold))  # fmt: skip

    # sources must not form a cycle (a -> b -> a)
    parent = {
        (p.item, p.location): (p.item, p.source)
        for p in policies
        if p.source not in ("supplier", "production")
    }
    for node in parent:
        path, cur = [node], parent.get(node)
        while cur is not None and cur not in path:
            path.append(cur)
            cur = parent.get(cur)
        if cur is not None:
            cyc = " -> ".join(loc for _, loc in path[path.index(cur) :] + [cur])
            msg = f"item {node[0]!r}: the sources form a cycle: {cyc}"
            if msg not in problems:
                problems.append(msg)

    events: list[Event] = []
    line_ids = {ln.id for ln in twin.lines}
    for where, row in _table_list(data, "event", problems):
        _keys(
            row,
            {"type", "start", "days", "line", "item", "location", "factor", "delay_days"},
            where,
            problems,
        )
        etype = row.get("type")
        if etype not in EVENT_TYPES:
            problems.append(f"{where}: 'type' must be one of {', '.join(EVENT_TYPES)} (got {etype!r})")
        raw_start = row.get("start", 0)
        if isinstance(raw_start, int) and not isinstance(raw_start, bool):
            offset = raw_start
        else:
            d = _parse_start(raw_start, f"{where}.start", problems)
            offset = (d - start).days if d else 0
        if offset < 0:
            problems.append(f"{where}: starts {-offset} days before the scenario")
        n = _int(row, "days", where, problems, 1, 1)
        item, loc = item_loc(row, where, required=False)
        line = row.get("line", "")
        if etype == "line_down" and line not in line_ids:
            problems.append(f"{where}: unknown line {line!r}")
        factor = _num(row, "factor", where, problems, default=1.0) or 0.0
        if etype == "demand_spike" and "factor" not in row:
            problems.append(f"{where}: a demand_spike needs 'factor'")
        delay = _int(row, "delay_days", where, problems, 0)
        if etype == "late_supplier" and delay < 1:
            problems.append(f"{where}: a late_supplier needs 'delay_days' >= 1")
        events.append(Event(str(etype), offset, n, str(line), item, loc, factor, delay))

    if problems:
        raise SupplyInputError(problems, source)
    return Scenario(twin, start, days, seed, warmup, tuple(demand), tuple(policies), tuple(events))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (``.toml``, else JSON); errors name the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SupplyInputError([f"cannot read the file: {exc.strerror or exc}"], str(p)) from exc
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SupplyInputError([f"not valid TOML: {exc}"], str(p)) from exc
    except json.JSONDecodeError as exc:
        raise SupplyInputError([f"not valid JSON (line {exc.lineno}): {exc.msg}"], str(p)) from exc
    return parse_scenario(data, str(p))


def with_forecast_demand(scenario: Scenario, forecast: Any, location: str) -> Scenario:
    """The scenario with customer demand at ``location`` taken from a forecast.

    ``forecast`` is a :class:`mercato.supply.forecast.Forecast`: each item's mean daily forecast
    becomes the demand mean, its ``error_sd`` the sd (rounded normal), and the forecast's weekday
    pattern the weekly profile. Demand the scenario already had for those item/locations is replaced.
    Items the twin does not know, or an unknown location, are refused with their names."""
    twin = scenario.twin
    problems = []
    if not twin.has_location(location):
        problems.append(f"forecast demand: unknown location {location!r}")
    unknown = sorted(i for i in forecast.items if not twin.has_item(i))
    if unknown:
        problems.append(f"forecast demand: unknown item(s) {', '.join(map(repr, unknown))}")
    if problems:
        raise SupplyInputError(problems)
    specs = []
    for item, f in forecast.items.items():
        daily = list(f.daily)
        mean = sum(daily) / len(daily) if daily else 0.0
        by_weekday = [0.0] * 7
        counts = [0] * 7
        for k, v in enumerate(daily):
            wd = (forecast.first_day.weekday() + k) % 7
            by_weekday[wd] += v
            counts[wd] += 1
        prof = [by_weekday[d] / counts[d] if counts[d] else mean for d in range(7)]
        m = sum(prof) / 7
        weekly = tuple(p / m for p in prof) if m > 0 else (1.0,) * 7
        specs.append(DemandSpec(item, location, mean, float(f.error_sd), "normal", weekly))
    replaced = {(s.item, s.location) for s in specs}
    kept = tuple(d for d in scenario.demand if (d.item, d.location) not in replaced)
    return Scenario(scenario.twin, scenario.start, scenario.days, scenario.seed, scenario.warmup_days,
                    kept + tuple(specs), scenario.policies, scenario.events)  # fmt: skip

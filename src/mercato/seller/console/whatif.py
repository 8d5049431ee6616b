"""What-if supply simulation in the console: upload a scenario file (a twin, demand, replenishment
policies and events such as a line going down; format in the supply documentation), and see the
scenario run twice — as planned (without its events) and with them — side by side: fill rate,
on-time rate, inventory, stockouts, costs, line use, and the two plots of each run."""

from __future__ import annotations

import base64
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mercato.supply.errors import SupplyInputError
from mercato.supply.scenario import Scenario, load_scenario
from mercato.supply.simulate import SimResult, simulate
from mercato.supply.simulate_plots import inventory_png, service_png

from . import forms
from .core import Console, fields, safe_filename, upload_name, upload_of

MAX_SCENARIO = 2 * 1024 * 1024
MAX_DAYS = 1095
SUFFIXES = (".toml", ".json")


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def run_view(result: SimResult, title: str) -> dict[str, Any]:
    inventory, service = f"{title}: inventory and backorders", f"{title}: daily fill rate and line use"
    return {
        "title": title,
        "figures": result.to_dict(),
        "plots": [
            (_uri(inventory_png(result, inventory)), inventory),
            (_uri(service_png(result, service)), service),
        ],
    }


def run_whatif(scenario: Scenario, days: int | None) -> list[dict[str, Any]]:
    """The scenario without its events (as planned), then with them (if it has any)."""
    runs = [run_view(simulate(dataclasses.replace(scenario, events=()), days), "As planned")]
    if scenario.events:
        names = ", ".join(sorted({e.type.replace("_", " ") for e in scenario.events}))
        runs.append(run_view(simulate(scenario, days), f"With {names}"))
    return runs


def load_upload(name: str, content: bytes) -> Scenario:
    with tempfile.TemporaryDirectory(prefix="mercato-scenario-") as d:
        path = Path(d) / safe_filename(name, "scenario.json")
        path.write_bytes(content)
        try:
            return load_scenario(path)
        except SupplyInputError as exc:
            raise SupplyInputError(exc.problems, name) from None


def add_whatif_routes(r: APIRouter, console: Console) -> None:
    def page(request: Request, ctx: Any, extra: dict[str, Any], status: int = 200) -> Response:
        context = {"title": "What-if simulation", "values": {}, "errors": {}, "runs": [], **extra}
        return console.page(request, ctx, "whatif.html", context, current="supply", status=status)

    @r.get("/supply/simulate")
    async def whatif_form(request: Request) -> Response:
        ctx = console.session_of(request)
        return page(request, ctx, {})

    @r.post("/supply/simulate")
    async def whatif_run(request: Request) -> Response:
        ctx = console.session_of(request)
        form = await request.form(max_files=1, max_fields=10)
        console.check_csrf(ctx, form)
        values = fields(form)
        errors: forms.Errors = {}
        days = None
        if (values.get("days") or "").strip():
            days = forms.integer(values, "days", errors, minimum=1, maximum=MAX_DAYS)
        upload = upload_of(form, "scenario")
        name = upload_name(upload)
        content = b""
        if upload is None or not name:
            errors["scenario"] = "choose a scenario file"
        elif Path(name).suffix.lower() not in SUFFIXES:
            errors["scenario"] = f"{name}: use a .toml or .json scenario file"
        else:
            content = await upload.read(MAX_SCENARIO + 1)
            if len(content) > MAX_SCENARIO:
                errors["scenario"] = f"{name}: larger than {MAX_SCENARIO // (1024 * 1024)} MB"
            elif not content:
                errors["scenario"] = f"{name}: the file is empty"
        if errors:
            return page(request, ctx, {"values": values, "errors": errors, "form_errors": errors}, 400)
        try:
            scenario = await run_in_threadpool(load_upload, name, content)
        except SupplyInputError as exc:
            errors["scenario"] = f"{name}: " + "; ".join(exc.problems[:10])
            extra = {"values": values, "errors": errors, "form_errors": errors, "problems": exc.problems}
            return page(request, ctx, extra, 422)
        if days is None and scenario.days > MAX_DAYS:
            days = MAX_DAYS
        try:
            runs = await run_in_threadpool(run_whatif, scenario, days)
        except (ValueError, SupplyInputError) as exc:
            errors["scenario"] = f"{name}: cannot simulate: {exc}"
            return page(request, ctx, {"values": values, "errors": errors, "form_errors": errors}, 422)
        return page(request, ctx, {"values": values, "runs": runs, "scenario_name": name})

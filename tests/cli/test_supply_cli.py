"""`mercato supply check|load`: a twin file into a seller node's database, or every problem named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mercato.cli import app
from mercato.network import seeds
from mercato.seller.config import load, write_starter
from mercato.seller.store import open_store
from mercato.seller.store import supply as store_supply


def test_check_and_load(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "twin.json"
    good.write_text(json.dumps(seeds.twin_document(seeds.MANUFACTURER)))
    r = runner.invoke(app, ["supply", "check", str(good)])
    assert r.exit_code == 0 and "1 lines — valid" in r.output
    cfg, _ = write_starter(tmp_path / "node", database_url=f"sqlite:///{tmp_path / 'seller.db'}")
    r = runner.invoke(app, ["supply", "load", str(good), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    store = open_store(load(cfg).database_url)
    try:
        twin = store_supply.twin_of(store)
        assert twin is not None and twin.line("press-1").capacity_per_day == 480
    finally:
        store.engine.dispose()


def test_bad_files_are_refused_with_every_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    doc = seeds.twin_document(seeds.MANUFACTURER)
    doc["lines"][0]["capacity_per_day"] = 0
    doc["calendars"][0]["weekdays"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    cfg, _ = write_starter(tmp_path / "node", database_url=f"sqlite:///{tmp_path / 'seller.db'}")
    for args in (["supply", "check", str(bad)], ["supply", "load", str(bad), "--config", str(cfg)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2
        assert "bad.json" in r.output and "no working days" in r.output and "capacity > 0" in r.output
    store = open_store(load(cfg).database_url)
    try:
        assert store_supply.twin_document(store) is None  # nothing stored
    finally:
        store.engine.dispose()
    broken = tmp_path / "broken.toml"
    broken.write_text("[[items]\n")
    r = runner.invoke(app, ["supply", "check", str(broken)])
    assert r.exit_code == 2 and "not valid TOML" in r.output

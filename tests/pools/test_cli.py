from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from mercato.cli import app
from tests.pools.helpers import commitment, document, offer

runner = CliRunner()


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "pool.json"
    path.write_bytes(orjson.dumps(doc))
    return path


def _doc() -> dict[str, object]:
    return document(
        {"m": 100},
        [offer("o", "m", [(1, 1000), (10, 800)], 1, 100)],
        [commitment("a", 5, 850, ["o"]), commitment("b", 5, 850, ["o"]), commitment("c", 1, 700, ["o"])],
    )


def test_clear_json(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc())
    result = runner.invoke(app, ["pool", "clear", "--input", str(path), "--json", "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.stdout)
    assert out["objective"] == 500 and out["gap"] == 0.0 and out["status"] == "optimal"
    assert out["runs"] == [{"manufacturer": "m", "offer": "o", "quantity": 10, "tier": 1, "unit_price": 800}]
    assert [a["commitment"] for a in out["accepted"]] == ["a", "b"]
    assert out["rejected"] == [{"commitment": "c", "reason": "price_not_reached"}]
    again = runner.invoke(app, ["pool", "clear", "--input", str(path), "--json"])
    assert again.stdout == result.stdout


def test_clear_text(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pool", "clear", "--input", str(_write(tmp_path, _doc()))])
    assert result.exit_code == 0, result.output
    assert "objective 500" in result.stdout
    assert "run o (m): 10 units at 800" in result.stdout
    assert "reject c: price_not_reached" in result.stdout


def test_invalid_pool_exits_2_naming_file_and_problem(tmp_path: Path) -> None:
    doc = _doc()
    doc["commitments"][0]["quantity"] = 0  # type: ignore[index]
    path = _write(tmp_path, doc)
    result = runner.invoke(app, ["pool", "clear", "--input", str(path)])
    assert result.exit_code == 2
    assert f"{path}: commitment 'a': quantity must be positive" in result.stderr
    assert result.stdout == ""


def test_not_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "pool.json"
    path.write_text("{nope")
    result = runner.invoke(app, ["pool", "clear", "--input", str(path)])
    assert result.exit_code == 2
    assert f"{path}: not valid JSON" in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    result = runner.invoke(app, ["pool", "clear", "--input", str(path)])
    assert result.exit_code == 2
    assert f"{path}: cannot read" in result.stderr

"""`mercato retention fit|report` end to end, as a merchant runs them; report rendering and docs images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import polars as pl
import pytest
from typer.testing import CliRunner

from mercato.cli import app
from mercato.retention.report import ReportOptions, build_report, render_report_html

runner = CliRunner()
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images" / "retention"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mercato", "retention", *args], capture_output=True, text=True, timeout=120
    )


def test_fit_json_reproduces_bgnbd_with_holdout(cdnow_csv: Path) -> None:
    p = run(
        "fit",
        "--input",
        str(cdnow_csv),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    out = orjson.loads(p.stdout)  # exactly one JSON object
    assert {k: round(v, 3) for k, v in out["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(out["log_likelihood"], 1) == -9582.4
    assert set(out["std_errors"]) == {"r", "alpha", "a", "b"}
    assert out["n_customers"] == 2357 and out["fit_seconds"] > 0
    h = out["holdout"]
    assert (
        h["actual_repeat_transactions"] > 0
        and h["predicted_repeat_transactions"] > 0
        and 0 < h["correlation"] < 1
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("pnbd", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
        ("gg", {"p": 6.25, "q": 3.744, "gamma": 15.444}),
    ],
)
def test_fit_other_models(cdnow_csv: Path, model: str, expected: dict[str, float]) -> None:
    r = runner.invoke(
        app,
        ["retention", "fit", "-i", str(cdnow_csv), "-m", model, "--calibration-end", "1997-09-30", "--json"],
    )
    assert r.exit_code == 0, r.output
    out = orjson.loads(r.stdout)
    assert {k: round(v, 3) for k, v in out["params"].items()} == expected


def test_fit_time_unit_changes_log_likelihood_not_shape(cdnow_csv: Path) -> None:
    r = runner.invoke(
        app,
        [
            "retention",
            "fit",
            "-i",
            str(cdnow_csv),
            "--calibration-end",
            "1997-09-30",
            "--time-unit",
            "day",
            "--json",
        ],
    )
    out = orjson.loads(r.stdout)
    assert out["time_unit"] == "day"
    assert round(out["params"]["alpha"], 2) == round(
        4.41360 * 7, 2
    )  # alpha scales with the unit; r, a, b do not
    assert round(out["params"]["r"], 3) == 0.243


def test_fit_human_output(cdnow_csv: Path) -> None:
    r = runner.invoke(app, ["retention", "fit", "-i", str(cdnow_csv), "--calibration-end", "1997-09-30"])
    assert r.exit_code == 0 and "alpha = 4.4136" in r.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "the file is empty"),
        ("customer_id,timestamp\na,2024-01-01\n", [], "missing column 'amount'"),
        ("customer_id,timestamp,amount\na,01/02/2024,1\n", [], "line 2, column 'timestamp'"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-01-02,x\n", [], "line 3, column 'amount'"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\na,2024-02-01,2\n", [], "at least 2 customers"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\nb,2024-02-01,2\n", [], "only one-time buyers"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\n", ["--model", "nope"], "unknown --model"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\n", ["--time-unit", "eon"], "unknown time unit"),
        ("customer_id,timestamp,amount\na,2024-01-01,1\n", ["--format", "xls"], "unknown --format"),
    ],
)
def test_fit_bad_input_exits_2_without_traceback(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    f = tmp_path / "in.csv"
    f.write_text(content)
    p = run("fit", "--input", str(f), "--json", *args)
    assert p.returncode == 2
    assert message in p.stderr and "Traceback" not in p.stderr and p.stdout == ""


def test_report_writes_self_contained_html(cdnow_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    p = run("report", "--input", str(cdnow_csv), "--out", str(out), "--json", "--progress")
    assert p.returncode == 0, p.stderr
    res = orjson.loads(p.stdout)
    assert res["customers"] == 2357 and res["holdout"]["calibration_end"] == "1997-09-30"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 9
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for name in (
        "cohort_heatmap",
        "retention_curves",
        "cumulative_revenue",
        "rfm_segments",
        "frequency_recency",
        "p_alive",
        "calibration_holdout",
        "tracking",
        "repeat_histogram",
    ):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    churn = pl.read_csv(out / "churn_risk.csv")
    assert churn.height == 2357 and churn["value_at_risk"].is_sorted(descending=True)
    assert pl.read_csv(out / "cohorts.csv").height > 0 and pl.read_csv(out / "rfm_segments.csv").height > 0


def test_report_for_one_time_buyers_still_renders_descriptive_parts(tmp_path: Path) -> None:
    f = tmp_path / "once.csv"
    f.write_text(
        "customer_id,timestamp,amount\n"
        + "".join(f"c{i},2024-0{1 + i % 3}-1{i % 9},{i + 1}.00\n" for i in range(20))
    )
    out = tmp_path / "rep"
    r = runner.invoke(app, ["retention", "report", "-i", str(f), "-o", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert "only one-time buyers" in html and "Cohorts" in html and "RFM segments" in html
    assert (out / "cohort_heatmap.png").exists() and (out / "rfm_segments.png").exists()
    assert not (out / "churn_risk.csv").exists()


def test_report_with_refunds_and_a_single_customer(tmp_path: Path) -> None:
    f = tmp_path / "one.csv"
    f.write_text("customer_id,timestamp,amount\na,2024-01-01,10\na,2024-01-03,-10\na,2024-02-01,5\n")
    r = runner.invoke(app, ["retention", "report", "-i", str(f), "-o", str(tmp_path / "r"), "--json"])
    assert r.exit_code == 0, r.output
    res = orjson.loads(r.stdout)
    assert res["customers"] == 1 and res["revenue"] == pytest.approx(5.0)
    assert any("at least 2 customers" in n for n in res["notes"])


def test_report_bad_input_exits_2(tmp_path: Path) -> None:
    p = run("report", "--input", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "no such file" in p.stderr and "Traceback" not in p.stderr


def test_render_report_from_a_table(cdnow_tx) -> None:  # type: ignore[no-untyped-def]
    """What a seller node will serve: the page from an in-memory table (ids, UTC times, minor units)."""
    html = render_report_html(cdnow_tx.frame, ReportOptions(cohort_period="week"))
    assert html.startswith("<!doctype html>") and "Churn-risk list" in html


def test_report_images_for_docs(cdnow_tx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Makes the plots shown in docs/retention.md; writes them there when MERCATO_WRITE_DOCS=1."""
    rep = build_report(cdnow_tx, ReportOptions(title="CDNOW sample"))
    again = build_report(cdnow_tx, ReportOptions(title="CDNOW sample"))
    assert rep.images.keys() == again.images.keys()
    assert all(rep.images[k] == again.images[k] for k in rep.images)  # deterministic
    target = DOCS_IMAGES if os.environ.get("MERCATO_WRITE_DOCS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    for name, data in rep.images.items():
        (target / name).write_bytes(data)
    assert len(list(target.glob("*.png"))) >= 9

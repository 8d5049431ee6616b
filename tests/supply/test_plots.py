from __future__ import annotations

from pathlib import Path

from mercato.supply.plots import doc_figures


def test_doc_figures_are_written(tmp_path: Path) -> None:
    paths = doc_figures(tmp_path)
    assert [p.name for p in paths] == ["supply-promise-curve.png", "supply-schedule-late.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000

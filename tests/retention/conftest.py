"""CDNOW fixtures: the 2,357-customer sample as a transactions table and as a CSV file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mercato.retention.io import Transactions, from_frame
from mercato.retention.summary import Summary, summarise
from tests.conftest import SHARED

CDNOW = SHARED / "data" / "cdnow"


def cdnow_frame() -> pl.DataFrame:
    rows = [line.split() for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        {
            "customer_id": [r[1] for r in rows],
            "timestamp": [r[2] for r in rows],
            "amount": [r[4] for r in rows],
        }
    )


@pytest.fixture(scope="session")
def cdnow_tx() -> Transactions:
    if not (CDNOW / "CDNOW_sample.txt").exists():
        pytest.skip("CDNOW data not available")
    return from_frame(cdnow_frame(), source="CDNOW_sample")


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_tx: Transactions) -> Summary:
    return summarise(cdnow_tx.frame, calibration_end="1997-09-30", holdout_end="1998-06-30", time_unit="week")


@pytest.fixture(scope="session")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (CDNOW / "CDNOW_sample.txt").exists():
        pytest.skip("CDNOW data not available")
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    cdnow_frame().write_csv(path)
    return path


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    return CDNOW

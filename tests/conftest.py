"""Shared fixtures. PostgreSQL tests read MERCATO_TEST_DATABASE_URL; each test gets its own schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Reference data the tests use (Beckn JSON Schemas and examples, signing vectors, CDNOW data),
# kept in the repository so that a fresh clone tests itself. See tests/fixtures/README.md.
FIXTURES = REPO / "tests" / "fixtures"
SHARED = FIXTURES
SPECS = FIXTURES / "specs" / "beckn"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema (``?schema=...``), dropped after the test."""
    base = os.environ.get("MERCATO_TEST_DATABASE_URL")
    if not base:
        pytest.skip("MERCATO_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}schema={schema}"
    from sqlalchemy import create_engine, text

    from mercato.db import normalise_url

    engine = create_engine(normalise_url(base))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"

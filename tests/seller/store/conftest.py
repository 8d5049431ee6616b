"""A migrated seller store on SQLite (file, WAL) and on PostgreSQL (own schema) for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mercato.seller.store import Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    yield s
    s.engine.dispose()

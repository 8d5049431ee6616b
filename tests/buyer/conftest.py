"""Fixtures of the buyer tests: a loopback network on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.buyer.harness import Net, start_net


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def net(db_url: str) -> Iterator[Net]:
    n = start_net(db_url)
    yield n
    n.stop()


@pytest.fixture
def sqlite_net(sqlite_url: str) -> Iterator[Net]:
    n = start_net(sqlite_url)
    yield n
    n.stop()

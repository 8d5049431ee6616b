"""The domain stays pure: no web framework, database, HTTP client, or other mercato role."""

from __future__ import annotations

import ast
from pathlib import Path

import mercato.seller.domain as domain

ALLOWED_MERCATO = ("mercato.protocol.errors", "mercato.seller.domain")
FORBIDDEN = (
    "fastapi",
    "starlette",
    "httpx",
    "sqlalchemy",
    "uvicorn",
    "alembic",
    "psycopg",
    "requests",
    "aiohttp",
)


def test_domain_imports_nothing_impure() -> None:
    files = sorted(Path(domain.__file__).parent.glob("*.py"))
    assert len(files) >= 10
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{f.name} imports {name}"
                if name.startswith("mercato"):
                    assert name.startswith(ALLOWED_MERCATO), f"{f.name} imports {name}"
        assert len(f.read_text().splitlines()) < 450, f.name

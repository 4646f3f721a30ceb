"""The test database: PostgreSQL with PostGIS, started by scripts/test-services.sh and named by $GRIDPLAN_TEST_PG."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

ENV = "GRIDPLAN_TEST_PG"


def database_url() -> str:
    """The database's URL; a failure, not a skip, where it is not set (CI always has one)."""
    value = os.environ.get(ENV)
    if not value:
        pytest.fail(
            f"{ENV} is not set: .ci/run starts PostgreSQL with PostGIS and exports it "
            "(postgresql://user:password@127.0.0.1:5432/database)"
        )
    return value


def engine_of(dsn: str):
    """A SQLAlchemy engine for ``dsn`` through psycopg 3."""
    return create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))


def drop_plan(dsn: str, name: str) -> None:
    """Remove a test plan's tables and its row in the plans table."""
    engine = engine_of(dsn)
    with engine.begin() as conn:
        for (table,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'gridplan' AND tablename LIKE :p"),
            {"p": f"{name}%"},
        ):
            conn.execute(text(f'DROP TABLE gridplan."{table}"'))
        conn.execute(text("DELETE FROM gridplan.plans WHERE name = :n"), {"n": name})
    engine.dispose()

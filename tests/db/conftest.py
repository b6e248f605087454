"""A new counter database in a real SQLite file, for each test that asks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from db.engine import open_database
from tests.conftest import NewDatabase


@pytest.fixture
def db_path(tmp_path: Path, new_database: NewDatabase) -> Path:
    """A new, empty database at the newest schema (a copy of the one the migrations
    made for this test process; see ``new_database``)."""
    return new_database(tmp_path / "counter.sqlite3")


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = open_database(db_path)
    yield engine
    engine.dispose()

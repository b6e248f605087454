"""A fresh counter database in a real SQLite file, for each test that asks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from db.engine import open_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "counter.sqlite3"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = open_database(db_path)
    yield engine
    engine.dispose()

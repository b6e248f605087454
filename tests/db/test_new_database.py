"""The new database most tests get (``new_database``) is the one ``open_database`` makes.

Tests that only need an empty database at the newest schema get a byte copy of one
database the migrations made for their test process: it must not differ from a new
one in anything a test could notice (schema, settings kept in the file, rows, the
file's permissions, files beside it).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from db.engine import HEAD_REVISION, database_health, open_database
from tests.conftest import NewDatabase

# What SQLite keeps in the file itself, apart from the schema.
FILE_PRAGMAS = (
    "user_version",
    "application_id",
    "journal_mode",
    "page_size",
    "encoding",
    "auto_vacuum",
    "freelist_count",
)


def described(path: Path) -> dict[str, Any]:
    """Everything of a database file a test could depend on, read without changing it
    (``immutable``: SQLite makes no -wal or -shm beside it to read it).

    ``rootpage`` is left out: two creations by the migrations differ in it (the order
    in which a rebuilt table's indexes are made), so it is no property of a new database.
    """
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        schema = sorted(
            connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
            key=repr,
        )
        tables = [name for kind, name, _, _ in schema if kind == "table"]
        return {
            "schema": schema,
            "pragmas": {
                name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in FILE_PRAGMAS
            },
            "rows": {
                table: connection.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables
            },
        }
    finally:
        connection.close()


def files_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_a_copied_new_database_is_what_open_database_makes(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    made = tmp_path / "made" / "data" / "counter.sqlite3"
    open_database(made).dispose()
    copied = new_database(tmp_path / "copied" / "data" / "counter.sqlite3")

    assert described(copied) == described(made)
    assert described(copied)["rows"]["alembic_version"] == [(HEAD_REVISION,)]
    assert files_beside(copied) == files_beside(made) == ["counter.sqlite3"]
    if os.name == "posix":
        # The file and the folders made for it: owner only, as the counter makes them.
        for copy, new in zip((copied, *copied.parents[:2]), (made, *made.parents[:2]), strict=True):
            assert stat.S_IMODE(copy.stat().st_mode) == stat.S_IMODE(new.stat().st_mode)


def test_a_copied_new_database_opens_at_the_newest_schema(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    engine = open_database(new_database(tmp_path / "counter.sqlite3"))
    try:
        health = database_health(engine)
    finally:
        engine.dispose()
    assert health.schema_revision == HEAD_REVISION
    assert health.journal_mode == "wal"
    assert health.integrity == "ok"


def test_a_copy_never_replaces_a_file_that_is_there(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    there = tmp_path / "counter.sqlite3"
    there.write_bytes(b"records of a site")
    with pytest.raises(FileExistsError):
        new_database(there)
    assert there.read_bytes() == b"records of a site"

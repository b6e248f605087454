"""``counter totals`` reads through ``sqlite3`` alone only a database at the newest
schema; an older one is brought up to date first, a newer one refused in words."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from drop_offs import AT, scale_drop_off

from counter_app.cli import main
from db.engine import HEAD_REVISION, alembic_config, open_database
from db.writes import record_drop_off


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "counter.sqlite3"
    engine = open_database(path)
    try:
        record_drop_off(engine, scale_drop_off(12_340), now=AT)
    finally:
        engine.dispose()
    return path


def revision(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        (found,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(found)


def test_an_older_database_is_brought_up_to_date_and_read(
    database: Path, config_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(HEAD_REVISION)
    assert previous is not None and isinstance(previous.down_revision, str)
    engine = open_database(database)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), previous.down_revision)
    finally:
        engine.dispose()
    assert revision(database) == previous.down_revision
    config = config_file(f'[database]\npath = "{database}"\n')

    code = main(["--config", str(config), "totals", "--day", "2024-05-14", "--format", "json"])

    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["count"] == 1
    assert '"total_kg": 12.340,' in out
    assert revision(database) == HEAD_REVISION


def test_a_newer_database_is_refused_in_words(
    database: Path, config_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    config = config_file(f'[database]\npath = "{database}"\n')

    assert main(["--config", str(config), "totals", "--day", "2024-05-14"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "counter: De database is niet te gebruiken: "
        "database is van een nieuwere versie van het programma\n"
    )
    assert revision(database) == "9999_future"

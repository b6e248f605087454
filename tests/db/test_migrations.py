"""The migrations: they build exactly the tables the models describe, and keep data."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Float, MetaData
from sqlalchemy.engine import Engine

from db.engine import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    SchemaTooNew,
    alembic_config,
    create_sqlite_engine,
    database_health,
    head_revision,
    open_database,
    upgrade_database,
)
from db.models import metadata
from db.verify import verify_chain
from db.writes import NewDropOff, record_drop_off, void_drop_off

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """No file yet: these tests make the database with the migrations themselves (the
    ``engine`` fixture's ``open_database`` creates it), never from a copy."""
    return tmp_path / "counter.sqlite3"
#: The newest revision this code knows.


def differences(engine: Engine, target: MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert differences(engine, metadata) == []


def test_the_comparison_would_notice_a_difference(engine: Engine) -> None:
    changed = MetaData(naming_convention=dict(metadata.naming_convention))
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["drop_off"].c.weight_grams.type = Float()
    found = differences(engine, changed)
    assert len(found) == 1
    assert "weight_grams" in repr(found)


def test_named_constraints_and_indices_exist(db_path: Path, engine: Engine) -> None:
    with sqlite3.connect(db_path) as connection:
        indices = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
            )
        }
        schema = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'drop_off'"
        ).fetchone()[0]
    assert {"ix_drop_off_recorded_at", "ix_print_job_status_created_at"} <= indices
    assert "CONSTRAINT uq_drop_off_label_code UNIQUE (label_code)" in schema


def record(engine: Engine) -> str:
    return record_drop_off(
        engine,
        NewDropOff(
            station_id="MS01",
            classification="recycling",
            category_code="metaal",
            category_name="Metalen",
            eural_code="20 01 40",
            weight_grams=2500,
            weight_source="manual",
            operator="anna",
            reading=None,
            reason="test",
        ),
        now=NOW,
    ).id


SECOND_MIGRATION = textwrap.dedent(
    '''
    """A later change: drop-offs get a note (rebuilds the table in SQLite).

    Revision ID: 9999
    Revises: {head}
    """

    import sqlalchemy as sa
    from alembic import op

    revision = "9999"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade() -> None:
        with op.batch_alter_table("drop_off", recreate="always") as batch:
            batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        for statement in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER drop_off_no_{{statement.lower()}} BEFORE {{statement}} "
                "ON drop_off BEGIN SELECT RAISE(ABORT, 'append-only'); END"
            )


    def downgrade() -> None:
        raise NotImplementedError
    '''
)


def test_upgrading_a_database_keeps_its_records(
    tmp_path: Path, db_path: Path, engine: Engine
) -> None:
    ids = [record(engine) for _ in range(3)]
    void_drop_off(engine, ids[1], "teamleider", "wrong", now=NOW)
    later = tmp_path / "later-migrations"
    shutil.copytree(MIGRATIONS_DIR, later, ignore=shutil.ignore_patterns("__pycache__"))
    (later / "versions" / "9999_note.py").write_text(
        SECOND_MIGRATION.format(head=head_revision()), encoding="utf-8"
    )

    upgrade_database(engine, migrations_dir=later)

    assert database_health(engine).schema_revision == "9999"
    assert database_health(engine).foreign_keys is True
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT id, label_code, note FROM drop_off WHERE voids_id IS NULL ORDER BY label_no"
        ).fetchall()
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("DELETE FROM drop_off")
    assert rows == [
        (ids[0], "MS01-000001", None),
        (ids[1], "MS01-000002", None),
        (ids[2], "MS01-000003", None),
    ]
    assert verify_chain(engine).ok
    # This code does not know 9999: it must not touch the newer database.
    with pytest.raises(SchemaTooNew, match="9999"):
        open_database(db_path)


def test_the_head_revision_constant_is_alembics_head() -> None:
    """Opening a database compares its revision with HEAD_REVISION without loading
    Alembic; a new migration that forgets the constant fails here, not at a counter."""
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD_REVISION]
    assert head_revision() == HEAD_REVISION


def test_downgrade_and_upgrade_again(engine: Engine, db_path: Path) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with sqlite3.connect(db_path) as connection:
        left = connection.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    assert left == [("alembic_version",)]
    upgrade_database(engine)
    assert differences(engine, metadata) == []


def test_migrations_are_found_from_an_installed_copy_of_the_package(tmp_path: Path) -> None:
    # Copy only what pyproject.toml ships: the modules and the package data globs.
    site = tmp_path / "site"
    for pattern in ("*.py", "alembic.ini", "migrations/*.py", "migrations/versions/*.py"):
        for source in (ROOT / "db").glob(pattern):
            target = site / "db" / source.relative_to(ROOT / "db")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import db.engine, sys\n"
        "engine = db.engine.open_database('counter.sqlite3')\n"
        "print(db.engine.database_health(engine).schema_revision, db.engine.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    revision, module_file = result.stdout.split()
    assert revision == head_revision()
    assert Path(module_file).is_relative_to(site)


# -- 0003: audit entries join the chain ------------------------------------------------

# Written by the counter at schema revision 0001: two stations, a void, a label sent,
# a reprint and a totals slip queued.
DATABASE_0001 = Path(__file__).parent / "data" / "counter-0001.sqlite3"


def _relinked(path: Path) -> dict[str, dict[str, object]]:
    with sqlite3.connect(path) as connection:
        return {
            station: json.loads(detail)
            for station, detail in connection.execute(
                "SELECT entity_id, detail FROM audit_entry WHERE action = 'chain.relinked'"
            )
        }


def test_a_0001_database_is_linked_again_and_verifies(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATABASE_0001, path)
    with sqlite3.connect(path) as connection:
        before = connection.execute(
            "SELECT id, label_code, weight_grams FROM drop_off ORDER BY id"
        ).fetchall()
        audits = connection.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    engine = open_database(path)
    try:
        report = verify_chain(engine)
        assert report.ok, report.problem
        # Every old row and audit entry is a link, plus one relink entry per station.
        assert report.count == len(before) + audits + 2
        assert {anchor.station_id for anchor in report.heads} == {"MS01", "MS02"}
        assert differences(engine, metadata) == []
    finally:
        engine.dispose()
    with sqlite3.connect(path) as connection:
        after = connection.execute(
            "SELECT id, label_code, weight_grams FROM drop_off ORDER BY id"
        ).fetchall()
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("UPDATE audit_entry SET actor = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="station heads"):
            connection.execute("DELETE FROM label_sequence")
    assert after == before
    assert {station: detail["old_chain_intact"] for station, detail in _relinked(path).items()} == {
        "MS01": True,
        "MS02": True,
    }


def test_a_0001_database_tampered_with_before_the_upgrade_still_says_so(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATABASE_0001, path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TRIGGER drop_off_no_update")
        connection.execute(
            "UPDATE drop_off SET weight_grams = 99000 WHERE station_id = 'MS02' AND label_no = 1"
        )
    open_database(path).dispose()
    assert _relinked(path)["MS02"]["old_chain_intact"] is False
    assert _relinked(path)["MS01"]["old_chain_intact"] is True


# -- 0002: print jobs belong to a station ------------------------------------------------

_JOB_COLUMNS = "id, drop_off_id, document, status, attempts, created_at, updated_at"
_T = "2024-05-14T10:00:00.000000+00:00"


def _database_at_0001(db_path: Path, stations: tuple[str, ...]) -> None:
    """A database as revision 0001 left it: a label job per station, and a test page."""
    engine = create_sqlite_engine(db_path)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    engine.dispose()
    with sqlite3.connect(db_path) as connection:
        for number, station in enumerate(stations, start=1):
            connection.execute(
                "INSERT INTO label_sequence (station_id, last_no) VALUES (?, 1)", (station,)
            )
            connection.execute(
                "INSERT INTO drop_off (id, station_id, chain_seq, label_no, label_code, "
                "recorded_at, classification, category_code, category_name, weight_grams, "
                "weight_source, operator, prev_hash, content_hash) VALUES "
                "(?, ?, 1, 1, ?, ?, 'reuse', 'meubels', 'Meubels', 1000, 'scale', 'balie', "
                "'', ?)",
                (f"d{number}", station, f"{station}-000001", _T, f"hash{number}"),
            )
            connection.execute(
                f"INSERT INTO print_job ({_JOB_COLUMNS}) VALUES "
                "(?, ?, 'item_label', 'queued', 0, ?, ?)",
                (f"label{number}", f"d{number}", _T, _T),
            )
        connection.execute(
            f"INSERT INTO print_job ({_JOB_COLUMNS}) VALUES "
            "('page', NULL, 'test_page', 'queued', 0, ?, ?)",
            (_T, _T),
        )


def _stations_of_jobs(db_path: Path) -> dict[str, str | None]:
    with sqlite3.connect(db_path) as connection:
        return dict(connection.execute("SELECT id, station_id FROM print_job ORDER BY id"))


def test_0002_gives_each_job_the_station_of_its_drop_off(db_path: Path) -> None:
    _database_at_0001(db_path, ("MS01", "MS02"))

    open_database(db_path).dispose()

    # Two stations: the test page's station cannot be told; the first counter to start
    # takes it over (db.printjobs.adopt_unassigned_jobs).
    assert _stations_of_jobs(db_path) == {"label1": "MS01", "label2": "MS02", "page": None}


def test_0002_gives_jobs_without_a_drop_off_the_only_station(db_path: Path) -> None:
    _database_at_0001(db_path, ("MS01",))

    open_database(db_path).dispose()

    assert _stations_of_jobs(db_path) == {"label1": "MS01", "page": "MS01"}


def test_0002_keeps_the_append_only_triggers(db_path: Path) -> None:
    _database_at_0001(db_path, ("MS01",))

    open_database(db_path).dispose()

    with sqlite3.connect(db_path) as connection:
        triggers = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            )
        }
        assert triggers == {
            f"{table}_no_{statement}"
            for table in ("drop_off", "captured_reading", "audit_entry")
            for statement in ("update", "delete")
        } | {"label_sequence_no_delete", "label_sequence_forward_only"}
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("DELETE FROM drop_off")
        indices = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    assert "ix_print_job_station_id_status_created_at" in indices

"""A database that cannot be made or brought up to date because the disk is full is
said as a full disk (what to do: free space), and the attempt leaves no file behind.

Two real full disks: SQLite's own (``PRAGMA max_page_count``: the file may not grow,
SQLite answers SQLITE_FULL, on any machine), and a file system that is really full (a
48 KiB tmpfs, mounted in a user and mount namespace of a child process, so no root
is needed; skipped where the system allows no such namespace).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import db.engine
from db.engine import DatabaseFull, DatabaseProblem, open_database

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def files_may_not_grow() -> Iterator[None]:
    """Every database file opened meanwhile may not grow beyond its first page."""
    make = db.engine.create_sqlite_engine

    def may_not_grow(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.execute("PRAGMA max_page_count = 1")

    def engine_that_may_not_grow(*args: Any, **kwargs: Any) -> Any:
        engine = make(*args, **kwargs)
        event.listen(engine, "connect", may_not_grow)
        return engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db.engine, "create_sqlite_engine", engine_that_may_not_grow)
        yield


def test_a_first_start_on_a_full_disk_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "counter.sqlite3"
    with files_may_not_grow(), pytest.raises(DatabaseFull) as refused:
        open_database(path)
    assert refused.value.problem is DatabaseProblem.FULL
    assert "the disk is full" in str(refused.value)
    assert "Free space on the disk" in str(refused.value)
    assert list(tmp_path.iterdir()) == []
    # Once there is room, the next start makes the database.
    open_database(path).dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter.sqlite3"]


def test_a_database_that_cannot_grow_to_the_new_schema_says_so_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    """An older database whose migration needs room the disk does not have: refused as
    a full disk, still at its old revision, and brought up to date once there is room."""
    from alembic import command

    path = tmp_path / "counter.sqlite3"
    engine = db.engine.create_sqlite_engine(path)
    with engine.begin() as connection:
        command.upgrade(db.engine.alembic_config(connection), "0001")
    engine.dispose()
    with sqlite3.connect(path) as connection:
        (pages,) = connection.execute("PRAGMA page_count").fetchone()

    make = db.engine.create_sqlite_engine

    def engine_that_may_not_grow(*args: Any, **kwargs: Any) -> Any:
        engine = make(*args, **kwargs)
        event.listen(engine, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count = {pages}"))
        return engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db.engine, "create_sqlite_engine", engine_that_may_not_grow)
        with pytest.raises(DatabaseFull, match="opening it did not happen"):
            open_database(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0001",)
        ]
    open_database(path).dispose()


#: Run in the child, inside its namespace with the file system mounted at argv[1].
CHILD = textwrap.dedent(
    """
    import json, os, sqlite3, sys
    from pathlib import Path
    from db.engine import open_database
    folder = Path(sys.argv[1])
    try:
        open_database(folder / "counter.sqlite3").dispose()
        with sqlite3.connect(folder / "counter.sqlite3") as connection:
            outcome = {"error": None,
                       "check": connection.execute("PRAGMA integrity_check").fetchone()[0]}
    except Exception as exc:
        outcome = {"error": type(exc).__name__, "problem": str(getattr(exc, "problem", "")),
                   "message": str(exc)}
    outcome["left"] = sorted(os.listdir(folder))
    print(json.dumps(outcome))
    """
)


def start_on(tmp_path: Path, mount_options: str, free_bytes: int | None) -> dict[str, Any]:
    """A first start on a tmpfs mounted with ``mount_options`` and filled by a ballast
    file until about ``free_bytes`` are left, in a child with a user and mount
    namespace of its own (no root needed, and the mount goes with the child)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) here to mount a small file system without root")
    folder = tmp_path / "mounted"
    folder.mkdir()
    fill = ""
    if free_bytes is not None:
        fill = (
            'size=$(df -B1 --output=avail "$1" | tail -n 1); '
            f'head -c $((size - {free_bytes})) /dev/zero > "$1/ballast" 2>/dev/null; '
        )
    remount = ""
    if "ro" in mount_options.split(","):
        remount = 'mount -o remount,ro "$1" || exit 77; '
        mount_options = ",".join(o for o in mount_options.split(",") if o != "ro")
    script = (
        f'mount -t tmpfs -o {mount_options} tmpfs "$1" || exit 77; '
        f"{fill}{remount}"
        'exec "$2" -c "$3" "$1"'
    )
    ran = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(folder), sys.executable, CHILD],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    if ran.returncode == 77 or "unshare:" in ran.stderr:
        pytest.skip(f"this system allows no user namespace to mount in: {ran.stderr.strip()}")
    assert ran.returncode == 0, ran.stderr
    outcome: dict[str, Any] = json.loads(ran.stdout.splitlines()[-1])
    return outcome


@pytest.mark.parametrize(
    "free_kib",
    # From no room for the file itself to room for the migrations in the -wal file but
    # not for copying them into the database (a half-made database was once linked
    # into place there, and its -wal removed), to room enough.
    [4, 160, 240, 600],
)
def test_a_first_start_on_a_file_system_that_is_really_full(tmp_path: Path, free_kib: int) -> None:
    outcome = start_on(tmp_path, "size=1m", free_kib * 1024)
    if outcome["error"] is None:  # it fitted: a whole database, nothing else
        assert outcome["check"] == "ok"
        assert "counter.sqlite3" in outcome["left"]
        assert not [name for name in outcome["left"] if name.startswith(".")]  # no temporary
        return
    assert outcome["error"] == "DatabaseFull", outcome
    assert outcome["problem"] == DatabaseProblem.FULL.value
    assert "Free space on the disk" in outcome["message"]
    assert outcome["left"] == ["ballast"]  # no half-made database, no temporary file


def test_no_room_for_another_file_is_a_full_disk(tmp_path: Path) -> None:
    outcome = start_on(tmp_path, "size=1m,nr_inodes=1", None)
    assert outcome["error"] == "DatabaseFull", outcome
    assert outcome["left"] == []


def test_a_read_only_file_system_is_said_as_read_only(tmp_path: Path) -> None:
    outcome = start_on(tmp_path, "size=1m,ro", None)
    assert outcome["error"] == "DatabaseReadOnly", outcome
    assert "read-only" in outcome["message"]
    assert outcome["left"] == []

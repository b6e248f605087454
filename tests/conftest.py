"""Fixtures shared by the whole suite."""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.files import PRIVATE_FILE_MODE, make_private_dir


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what lives all session, and less often busy.

    After collection a test process holds some 300,000 objects that stay until it
    ends: the imported libraries and an item per collected test. Python's full
    collection walks all of them each time the heap has grown by a quarter, and the
    suite's renders and records grow it often: over three workers 17.6 s of CPU went
    to collections, 15 s of it to full ones. Frozen (``gc.freeze``), those objects
    are left out of every later pass; and the young generations are collected every
    20,000 allocations instead of 700 (Python's default, made for small heaps): 6 s
    in all. Garbage is collected as before, only in larger batches; the memory tests
    collect explicitly (``gc.collect``) before they count.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SUITE_GC_THRESHOLDS)


#: The suite's collection thresholds (``pytest_collection_finish``), and Python's own.
SUITE_GC_THRESHOLDS = (20_000, 20, 20)
PYTHON_GC_THRESHOLDS = (700, 10, 10)


@contextlib.contextmanager
def python_gc_thresholds() -> Iterator[None]:
    """Collect garbage as often as a counter does (Python's default thresholds) for a
    measurement of peak memory: a peak includes the garbage not collected yet, and
    the suite's larger batches would let up to 28 times more of it in."""
    before = gc.get_threshold()
    gc.set_threshold(*PYTHON_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def pytest_configure(config: pytest.Config) -> None:
    _narrow_unused_snapshot_matching()


def _narrow_unused_snapshot_matching() -> None:
    """Let syrupy (the UI snapshots' library) find its unused snapshots without
    comparing each of them with every test that ran.

    Each worker reports the snapshots it did not use, and for each it compared every
    test the worker ran with the snapshot's file: a location object per pair, each
    building paths, 1 to 1.5 s of CPU per worker at the very end of the run. Only a
    test whose file is named as the snapshot's (what ``matches_snapshot_location``
    compares) can match, so the others are passed over first. Syrupy made the same
    change itself after 4.8.0, the version pytest-textual-snapshot pins.
    """
    try:
        from syrupy.location import PyTestLocation
        from syrupy.report import SnapshotReport
    except ImportError:
        return
    if not hasattr(SnapshotReport, "_ran_items_match_name"):
        return

    def ran_items_match_name(
        report: SnapshotReport, snapshot_location: str, snapshot_name: str
    ) -> bool:
        location = Path(snapshot_location)
        names = {location.stem, location.parent.name}
        for item in report.ran_items:
            if not hasattr(item, "dtest") and Path(item.path).stem not in names:
                continue
            test = PyTestLocation(item)
            if test.matches_snapshot_location(snapshot_location) and test.matches_snapshot_name(
                snapshot_name
            ):
                return True
        return False

    SnapshotReport._ran_items_match_name = ran_items_match_name  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def _xdg_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg")


_xdg_numbers = itertools.count()


@pytest.fixture(autouse=True)
def isolated_dirs(_xdg_base: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the platform config/data/cache directories into a folder of this test's own.

    platformdirs follows the XDG variables on Linux and the BSDs, so no test reads
    a technician's real configuration or writes into the real data directory.
    ``$COUNTER_CONFIG`` is cleared so the default location is what a test sees.
    Returns the directory that holds them; it does not exist yet, as on a new machine.

    Not under ``tmp_path``: pytest makes each ``tmp_path`` by listing every earlier
    test's folder to number the next one, a cost that grows with the suite and that
    the many tests needing no files at all (parsers, printer bytes) would pay too.
    """
    home = _xdg_base / str(next(_xdg_numbers))
    for variable, name in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(variable, str(home / name))
    monkeypatch.delenv("COUNTER_CONFIG", raising=False)
    return home


ConfigFileFactory = Callable[..., Path]


@pytest.fixture
def config_file(tmp_path: Path) -> ConfigFileFactory:
    """Write a TOML configuration file: ``config_file('''[station]\\nid = "MS02"''')``.

    The text is dedented, so a test can indent it with the code. ``name`` picks the
    file name inside ``tmp_path`` (default ``config.toml``).
    """

    def write(text: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


NewDatabase = Callable[[Path], Path]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a new database, made once per test process by ``open_database``.

    The real creation runs every migration (about 85 ms of CPU); hundreds of tests
    only need an empty database at the newest schema, so they get a copy of this one.
    A new database holds nothing but its schema and the ``alembic_version`` row (no
    station or database id), so a copy is what ``open_database`` would have made;
    tests/db/test_new_database.py holds them side by side.
    """
    # Here, not at the top: this file is loaded for every test, and most never need
    # SQLAlchemy or the migrations.
    from db.engine import open_database

    path = tmp_path_factory.mktemp("migrated") / "counter.sqlite3"
    open_database(path).dispose()
    # The last connection closed checkpointed the WAL and removed -wal and -shm: the
    # whole database is in this one file, and a copy of it carries nothing of them.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return path.read_bytes()


@pytest.fixture
def new_database(migrated_database: bytes) -> NewDatabase:
    """Put a new, empty counter database at a path, as ``open_database`` makes one.

    A byte copy of :func:`migrated_database`: a real SQLite file built by the
    migrations, owner-only like the counter's own (folder and file), never a file that
    was already there. For tests that only need an empty database; tests of creating
    and migrating a database call ``open_database`` on a missing file themselves.
    """

    def make(path: Path) -> Path:
        make_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as stream:
            stream.write(migrated_database)
        return path

    return make

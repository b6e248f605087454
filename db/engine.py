"""The SQLite database on the counter PC: open it safely and bring its schema up to date.

Every connection gets the same settings (DESIGN.md section 3): WAL journal, so the UI
can read while a record is written; ``synchronous=FULL``, so a committed record
survives a power cut; foreign keys on; and a busy timeout, so two writers wait for each
other instead of failing.

Transactions are begun by this module, not by Python's sqlite3 module (which would
begin them lazily and not at all before DDL). A writer asks for ``BEGIN IMMEDIATE``
(:func:`write_session`) and so takes SQLite's write lock before it reads anything it
is about to change, such as the next label number; two processes can then never hand
out the same number, and a writer never fails half-way because another one got in
first. Readers use a plain deferred ``BEGIN`` and never block a writer.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import URL, Connection, create_engine, event, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a connection waits for another one's write lock before giving up.
BUSY_TIMEOUT_MS = 10_000

_SQLITE_HEADER = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html 1.3
_BEGIN_OPTION = "counter_begin"


class DatabaseError(Exception):
    """The database cannot be used. ``str()`` says why, in words a technician follows."""


class DatabaseMissing(DatabaseError):
    """No database file exists where one was expected."""


class NotADatabase(DatabaseError):
    """The file exists but is not a counter database (empty, not SQLite, foreign)."""


class SchemaTooNew(DatabaseError):
    """The database was written by a newer version of the counter."""


class DatabaseBusy(DatabaseError):
    """Another program held the database locked for longer than the busy timeout."""


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    """The settings a connection actually runs with (``PRAGMA`` values)."""

    path: str
    journal_mode: str
    synchronous: int  # 2 = FULL
    foreign_keys: bool
    busy_timeout_ms: int
    schema_revision: str | None
    integrity: str  # "ok" or SQLite's first complaint (PRAGMA quick_check)


def _on_connect(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # Take transaction control away from the sqlite3 module: it would otherwise send
    # its own (deferred) BEGIN before DML and COMMIT before DDL. See _on_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_sqlite_engine(path: Path | str) -> Engine:
    """An engine for the SQLite file at ``path`` with the counter's settings.

    It neither checks nor migrates the file; :func:`open_database` does both.
    """
    url = URL.create("sqlite", database=str(path))
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions begin with ``BEGIN IMMEDIATE``."""
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def _refusal(exc: sa_exc.SQLAlchemyError, engine: Engine, doing: str) -> DatabaseError:
    detail = str(getattr(exc, "orig", None) or exc)
    if isinstance(exc, sa_exc.OperationalError) and "locked" in detail:
        return DatabaseBusy(
            f"The database {database_path(engine)} stayed locked by another program; "
            f"{doing} did not happen. Try again."
        )
    return DatabaseError(f"The database {database_path(engine)} refused {doing}: {detail}.")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the write lock from its first statement.

    Commits when the block ends normally and rolls everything back when it raises. A
    refusal by the database (a constraint, a full disk, a lock held too long) comes
    out as :class:`DatabaseError`; nothing of the block was stored then.
    """
    try:
        with Session(writer(engine), expire_on_commit=False) as session, session.begin():
            yield session
    except sa_exc.SQLAlchemyError as exc:
        raise _refusal(exc, engine, "the change") from exc


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; it sees one consistent snapshot until the block ends."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except sa_exc.SQLAlchemyError as exc:
        raise _refusal(exc, engine, "the query") from exc


def alembic_config(
    connection: Connection | None = None, *, migrations_dir: Path = MIGRATIONS_DIR
) -> Config:
    """Alembic's configuration, built in code so an installed package finds its scripts."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(
        alembic_config(migrations_dir=migrations_dir)
    ).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {migrations_dir}")
    return head


def _check_file(path: Path, *, create: bool) -> None:
    if not path.exists():
        if not create:
            raise DatabaseMissing(f"There is no counter database at {path}.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"Cannot create the folder {path.parent} for the database: {exc.strerror}."
            ) from exc
        return
    if not path.is_file():
        raise NotADatabase(f"{path} is not a file, so it cannot be the counter database.")
    try:
        with path.open("rb") as stream:
            header = stream.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseError(f"Cannot read the database {path}: {exc.strerror}.") from exc
    if not header:
        raise NotADatabase(
            f"The database file {path} is empty (0 bytes). If the counter stopped while "
            "creating it, delete the file and start again; otherwise restore it from a "
            "backup, because its records are gone."
        )
    if header != _SQLITE_HEADER:
        raise NotADatabase(f"{path} is not an SQLite database, so it cannot be opened.")


def upgrade_database(engine: Engine, *, migrations_dir: Path = MIGRATIONS_DIR) -> None:
    """Bring the database behind ``engine`` to the newest schema ``migrations_dir`` knows.

    Follows SQLite's procedure for schema changes (https://www.sqlite.org/lang_altertable.html,
    section 7): foreign keys off while tables are rebuilt, ``PRAGMA foreign_key_check``
    before commit. The transaction is ``IMMEDIATE``, so two counters starting at once
    migrate one after the other.
    """
    path = database_path(engine)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        # Outside any transaction: SQLite ignores this pragma inside one.
        raw.execute("PRAGMA foreign_keys = OFF")
        try:
            connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                _migrate(connection, path, migrations_dir)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise DatabaseError(
                        f"Updating the database {path} would break references between "
                        f"records ({len(broken)} found, first in table {broken[0][0]}); "
                        "nothing was changed."
                    )
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def _migrate(connection: Connection, path: Path, migrations_dir: Path) -> None:
    config = alembic_config(connection, migrations_dir=migrations_dir)
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(connection).get_current_heads()
    for revision in current:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise SchemaTooNew(
                f"The database {path} was written by a newer version of the counter "
                f"(schema revision {revision}). Update the counter software to use it."
            )
    if not current:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        if tables:
            raise NotADatabase(
                f"{path} is an SQLite database of another program (it has the tables "
                f"{', '.join(sorted(tables))}), not a counter database."
            )
    command.upgrade(config, "head")


def open_database(path: Path | str, *, create: bool = True) -> Engine:
    """Open the counter database at ``path``, creating it if allowed, and migrate it.

    Raises a :class:`DatabaseError` subclass with a readable message when the file is
    missing (``create=False``), empty, not SQLite, another program's database, or newer
    than this code.
    """
    path = Path(path).expanduser()
    _check_file(path, create=create)
    engine = create_sqlite_engine(path)
    try:
        upgrade_database(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except sa_exc.OperationalError as exc:
        engine.dispose()
        if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig):
            raise DatabaseBusy(
                f"The database {path} is locked by another program; try again."
            ) from exc
        raise DatabaseError(f"Cannot open the database {path}: {exc.orig}.") from exc
    except sa_exc.DatabaseError as exc:
        engine.dispose()
        raise NotADatabase(f"{path} cannot be read as a database: {exc.orig}.") from exc
    return engine


def database_path(engine: Engine) -> Path:
    """The file behind an engine made here."""
    return Path(str(engine.url.database))


def database_health(engine: Engine) -> DatabaseHealth:
    """What a fresh connection runs with, for tests and ``counter`` diagnostics."""
    with engine.connect() as connection:

        def pragma(name: str) -> Any:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        revisions = MigrationContext.configure(connection).get_current_heads()
        return DatabaseHealth(
            path=str(database_path(engine)),
            journal_mode=str(pragma("journal_mode")),
            synchronous=int(pragma("synchronous")),
            foreign_keys=bool(pragma("foreign_keys")),
            busy_timeout_ms=int(pragma("busy_timeout")),
            schema_revision=revisions[0] if revisions else None,
            integrity=str(pragma("quick_check")),
        )

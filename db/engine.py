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

import contextlib
import errno
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from db.errors import DatabaseBusy as DatabaseBusy
from db.errors import DatabaseError as DatabaseError
from db.errors import DatabaseFull as DatabaseFull
from db.errors import DatabaseMissing as DatabaseMissing
from db.errors import DatabaseProblem as DatabaseProblem
from db.errors import DatabaseReadOnly as DatabaseReadOnly
from db.errors import NotADatabase as NotADatabase
from db.errors import SchemaTooNew as SchemaTooNew
from db.errors import SchemaTooOld as SchemaTooOld
from db.errors import UnreadWal as UnreadWal
from db.errors import refusal
from db.files import PRIVATE_DIR_MODE as PRIVATE_DIR_MODE
from db.files import PRIVATE_FILE_MODE as PRIVATE_FILE_MODE
from db.files import make_private_dir as make_private_dir
from db.read_only import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS
from db.read_only import HEAD_REVISION as HEAD_REVISION
from db.read_only import (
    check_database_file,
    open_read_only,
    read_only_uri,
    refuse_foreign,
    stored_revisions,
)

if TYPE_CHECKING:
    # Alembic is imported where a migration runs, never to open a database that is up
    # to date: loading it costs more than the rest of a supervisor's command.
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_BEGIN_OPTION = "counter_begin"


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


def _on_connect_read_only(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    # A read-only connection cannot switch the journal mode; it reads what is there.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_sqlite_engine(path: Path | str, *, mode: str = "rw") -> Engine:
    """An engine for the SQLite file at ``path`` with the counter's settings.

    ``mode`` is ``"rw"`` (the counter's settings), ``"ro"`` (SQLite's read-only open:
    it still sees what is in the WAL) or ``"immutable"`` (for a file on read-only media
    without its WAL: SQLite takes no locks and reads the main file only). It neither
    checks nor migrates the file; :func:`open_database` does both.
    """
    if mode == "rw":
        url = URL.create("sqlite", database=str(path))
        connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    else:
        url = URL.create("sqlite", database=read_only_uri(path, mode), query={"uri": "true"})
        connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, connect_args=connect_args)
    event.listen(engine, "connect", _on_connect if mode == "rw" else _on_connect_read_only)
    event.listen(engine, "begin", _on_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions begin with ``BEGIN IMMEDIATE``."""
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def _refusal(exc: sa_exc.SQLAlchemyError, engine: Engine, doing: str) -> DatabaseError:
    detail = str(getattr(exc, "orig", None) or exc)
    locked = isinstance(exc, sa_exc.OperationalError) and "locked" in detail
    return refusal(database_path(engine), detail, doing, locked=locked)


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _create_private_file(path: Path) -> None:
    """Make an empty database file that only this user can read.

    SQLite gives the ``-wal`` and ``-shm`` files it makes the database file's
    permissions, so they are private too. ``O_EXCL``: a file that appeared meanwhile is
    never truncated.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def head_revision(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    """The newest schema revision this code knows (:data:`HEAD_REVISION`), or the newest
    one in another ``migrations_dir`` (asks Alembic)."""
    if migrations_dir == MIGRATIONS_DIR:
        return HEAD_REVISION
    return _script_head(migrations_dir)


@functools.cache
def _script_head(migrations_dir: Path) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(
        alembic_config(migrations_dir=migrations_dir)
    ).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {migrations_dir}")
    return head


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
    from alembic import command

    config = alembic_config(connection, migrations_dir=migrations_dir)
    current = _stored_revisions(connection)
    _refuse_unknown(current, path, migrations_dir)
    if not current:
        _refuse_foreign(connection, path)
    command.upgrade(config, "head")


def _stored_revisions(connection: Connection) -> tuple[str, ...]:
    return stored_revisions(connection.exec_driver_sql)


def _refuse_foreign(connection: Connection, path: Path) -> None:
    refuse_foreign(connection.exec_driver_sql, path)


def _refuse_unknown(revisions: tuple[str, ...], path: Path, migrations_dir: Path) -> None:
    """Raise :class:`SchemaTooNew` for a revision the migrations do not know."""
    unknown = [r for r in revisions if r != head_revision(migrations_dir)]
    if not unknown:
        return
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    script = ScriptDirectory.from_config(alembic_config(migrations_dir=migrations_dir))
    for revision in unknown:
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise SchemaTooNew(
                f"The database {path} was written by a newer version of the counter "
                f"(schema revision {revision}). Update the counter software to use it."
            )


def open_database(path: Path | str, *, create: bool = True, read_only: bool = False) -> Engine:
    """Open the counter database at ``path``, creating it if allowed, and migrate it.

    Raises a :class:`DatabaseError` subclass with a readable message when the file is
    missing (``create=False``), empty, not SQLite, another program's database, newer
    than this code, or cannot be written (:class:`DatabaseReadOnly`).

    ``read_only``: for commands that only read (totals, export, verify). The file is
    opened without taking the write lock, so the counter keeps recording beside them,
    and it can be an archived copy on read-only media. Only a database whose schema
    is older than this code is migrated first, when it can be written.
    """
    path = Path(path).expanduser()
    if read_only:
        return _open_read_only(path)
    check_database_file(path, create=create)
    if not path.exists():
        _create_database(path)
    _refuse_read_only(path)
    engine = create_sqlite_engine(path)
    try:
        # A database at the newest schema is opened with one read: no write lock and no
        # scan, so a start never waits for, or blocks, another program's writes. Only a
        # migration takes the write lock and checks every reference (upgrade_database).
        if _schema_state(engine, path) != head_revision():
            upgrade_database(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except sa_exc.OperationalError as exc:
        engine.dispose()
        raise _open_refusal(path, exc) from exc
    except sa_exc.DatabaseError as exc:
        engine.dispose()
        raise NotADatabase(f"{path} cannot be read as a database: {exc.orig}.") from exc
    return engine


def _open_refusal(path: Path, exc: sa_exc.OperationalError) -> DatabaseError:
    detail = str(exc.orig)
    if "locked" in detail:
        return DatabaseBusy(f"The database {path} is locked by another program; try again.")
    if "readonly" in detail or "read-only" in detail:
        return _read_only_error(path)
    if "database or disk is full" in detail:
        return refusal(path, detail, "opening it", locked=False)
    return DatabaseError(f"Cannot open the database {path}: {detail}.")


def _read_only_error(path: Path) -> DatabaseReadOnly:
    return DatabaseReadOnly(
        f"The database {path} can be read but not written (the file, or its folder "
        f"{path.parent}, is read-only for this user, or on read-only media), so the "
        "counter cannot record to it. Make both writable for this user, or set "
        "[database] path to a writable place."
    )


def _refuse_read_only(path: Path) -> None:
    # SQLite needs to write the file and to make its -wal and -shm files beside it.
    sidecars_exist = all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    if not os.access(path, os.W_OK) or (not sidecars_exist and not os.access(path.parent, os.W_OK)):
        raise _read_only_error(path)


def _create_database(path: Path) -> None:
    """Make a new, fully migrated database at ``path``, readable by this user only.

    It is built under a temporary name and then linked into place, so a database file
    that exists is never half made, and one that appeared meanwhile is kept.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    made = (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm"))
    _remove(made)
    try:
        try:
            _create_private_file(partial)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise DatabaseReadOnly(
                    f"Cannot create the database {path}: its folder {path.parent} is "
                    "read-only for this user. Set [database] path to a writable place."
                ) from exc
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _creation_refused(path, "database or disk is full") from exc
            raise DatabaseError(f"Cannot create the database {path}: {exc.strerror}.") from exc
        engine = create_sqlite_engine(partial)
        try:
            upgrade_database(engine)
            # The migrations are committed to the -wal file; the file that is linked into
            # place must hold them itself. Closing would copy them over too, but a copy
            # that fails there (the disk filled up) is not reported: the database would
            # be linked half written, and its -wal removed with the only copy.
            with engine.connect() as connection:
                busy, *_ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy:
                raise DatabaseError(f"Cannot create the database {path}: its new file stayed busy.")
        except sa_exc.OperationalError as exc:
            raise _creation_refused(path, str(exc.orig)) from exc
        except sa_exc.SQLAlchemyError as exc:
            raise DatabaseError(f"Cannot create the database {path}: {exc}.") from exc
        finally:
            engine.dispose()
        wal = made[1]
        if wal.exists() and wal.stat().st_size:
            raise DatabaseError(
                f"Cannot create the database {path}: its new file was not completed."
            )
        # os.link never replaces a file: a database made meanwhile by another counter
        # wins, and this one is dropped.
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        # Made or not, the temporary file goes: a failed start on a full disk must not
        # leave a file behind that takes what little room is left, one more each try.
        _remove(made)


def _creation_refused(path: Path, detail: str) -> DatabaseError:
    if "database or disk is full" in detail:
        return refusal(path, detail, "its creation", locked=False)
    return DatabaseError(f"Cannot create the database {path}: {detail}.")


def _remove(files: tuple[Path, ...]) -> None:
    """Remove what is there of ``files``, as far as the folder allows: on a read-only
    file system even removing a file that is not there fails (EROFS), and that must not
    hide why the database could not be made."""
    for file in files:
        with contextlib.suppress(OSError):
            if os.path.lexists(file):
                file.unlink()


def _open_read_only(path: Path) -> Engine:
    # The file's checks and the revision are read through a plain sqlite3 connection
    # (db.read_only, shared with the commands that read without SQLAlchemy).
    opened = open_read_only(path)
    opened.close()  # the engine makes connections of its own
    if opened.at_head:
        return create_sqlite_engine(path, mode=opened.mode)
    _refuse_unknown(opened.revisions, path, MIGRATIONS_DIR)
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return open_database(path, create=False)
    raise SchemaTooOld(
        f"The database {path} was written by an older version of the counter (schema "
        f"revision {opened.revisions[0]}) and is read-only here, so it cannot be brought up "
        "to date to be read. Copy it to a writable folder and read the copy."
    )


def _schema_state(engine: Engine, path: Path) -> str | None:
    """The schema revision of the database, read without a lock; None for an empty one.

    Raises :class:`NotADatabase` for another program's database and
    :class:`SchemaTooNew` for a revision this code does not know.
    """
    with engine.connect() as connection:
        heads = _stored_revisions(connection)
        if not heads:
            _refuse_foreign(connection, path)
            return None
    if heads == (head_revision(),):
        return head_revision()
    _refuse_unknown(heads, path, MIGRATIONS_DIR)
    return heads[0]


def database_path(engine: Engine) -> Path:
    """The file behind an engine made here."""
    database = str(engine.url.database)
    if database.startswith("file:"):
        # urllib.request (with http.client and email) only for a read-only opening.
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        return Path(url2pathname(urlsplit(database).path))
    return Path(database)


def is_read_only(engine: Engine) -> bool:
    """Whether the engine was opened for reading only (``open_database(read_only=True)``)."""
    return "mode=ro" in str(engine.url.database)


def database_health(engine: Engine) -> DatabaseHealth:
    """What a fresh connection runs with, for tests and ``counter`` diagnostics."""
    with engine.connect() as connection:

        def pragma(name: str) -> Any:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        revisions = _stored_revisions(connection)
        return DatabaseHealth(
            path=str(database_path(engine)),
            journal_mode=str(pragma("journal_mode")),
            synchronous=int(pragma("synchronous")),
            foreign_keys=bool(pragma("foreign_keys")),
            busy_timeout_ms=int(pragma("busy_timeout")),
            schema_revision=revisions[0] if revisions else None,
            integrity=str(pragma("quick_check")),
        )


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The physical state of the database file, apart from what its records say.

    ``full``: SQLite's ``integrity_check`` and ``foreign_key_check`` ran; otherwise its
    faster ``quick_check`` (which skips comparing indexes with their tables). ``problems``
    holds SQLite's own words, at most :data:`FILE_CHECK_LIMIT` of them.
    """

    full: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


FILE_CHECK_LIMIT = 20


def check_file(engine: Engine, *, full: bool = False) -> FileCheck:
    """Check the database file's pages and indexes (https://www.sqlite.org/pragma.html
    #pragma_integrity_check); with ``full`` also every reference between rows."""
    pragma = "integrity_check" if full else "quick_check"
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"PRAGMA {pragma}({FILE_CHECK_LIMIT})").fetchall()
            problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
            if full:
                for table, rowid, parent, _fk in connection.exec_driver_sql(
                    "PRAGMA foreign_key_check"
                ).fetchall()[:FILE_CHECK_LIMIT]:
                    problems.append(f"row {rowid} of {table} points at a missing row of {parent}")
    except sa_exc.DBAPIError as exc:
        problems.append(str(exc.orig))
    return FileCheck(full=full, problems=tuple(problems))


def query_plan(engine: Engine, statement: Any) -> list[str]:
    """SQLite's plan for ``statement`` (``EXPLAIN QUERY PLAN``), one line per step.

    The plan depends on the statement's shape, not on the values bound to it, so
    they are passed as plain text.
    """
    compiled = statement.compile(dialect=engine.dialect)
    params = compiled.construct_params()
    values = tuple(
        None if params[name] is None else str(params[name]) for name in compiled.positiontup or ()
    )
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", values)
        return [str(row[3]) for row in rows]

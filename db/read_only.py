"""Opening the counter database for reading only, with the ``sqlite3`` module alone.

:func:`open_read_only` makes the checks every read-only opening makes (the file's
header, records waiting in a ``-wal`` file that a read-only folder keeps from being
read, another program's database, the schema revision) and hands back a plain
``sqlite3`` connection. :mod:`db.engine` opens its read-only engines through it, and a
command that only reads a few rows (``counter totals``) reads through the connection
itself: loading SQLAlchemy would cost such a command several times its query.

What runs on either connection takes an :class:`Execute`: ``sqlite3.Connection.execute``
or SQLAlchemy's ``Connection.exec_driver_sql``, so one SQL text serves both.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Protocol

from db.errors import (
    DatabaseError,
    DatabaseMissing,
    NotADatabase,
    UnreadWal,
    refusal,
)
from db.files import make_private_dir

#: The newest revision in ``migrations/versions``, known without importing Alembic, so
#: opening a database at it reads one row and loads no migration machinery. A new
#: migration changes it too (a test compares it with Alembic's own head).
HEAD_REVISION: Final = "0006"

# How long a connection waits for another one's write lock before giving up.
BUSY_TIMEOUT_MS = 10_000

_SQLITE_HEADER = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html 1.3


class Rows(Protocol):
    def fetchall(self) -> Sequence[Any]: ...


class Execute(Protocol):
    """Runs one SQL statement with ``?`` parameters: ``sqlite3.Connection.execute`` or
    SQLAlchemy's ``Connection.exec_driver_sql``."""

    def __call__(self, sql: str, parameters: tuple[Any, ...] = ..., /) -> Rows: ...


def check_database_file(path: Path, *, create: bool) -> None:
    """Refuse a path that is not a database file before SQLite opens it (SQLite would
    make an empty database of a missing file, and says little about a foreign one).

    ``create``: a missing file is allowed (its folder is made); otherwise
    :class:`DatabaseMissing`.
    """
    if not path.exists():
        if not create:
            raise DatabaseMissing(f"There is no counter database at {path}.")
        try:
            make_private_dir(path.parent)
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


def read_only_uri(path: Path | str, mode: str) -> str:
    """The URI SQLite opens ``path`` by for reading: ``mode`` ``"ro"`` (it still sees
    what is in the WAL) or ``"immutable"`` (for a file on read-only media without its
    WAL: SQLite takes no locks and reads the main file only)."""
    # https://www.sqlite.org/uri.html: mode=ro, immutable=1
    query = "mode=ro" if mode == "ro" else "mode=ro&immutable=1"
    return f"{Path(path).resolve().as_uri()}?{query}"


def stored_revisions(execute: Execute) -> tuple[str, ...]:
    """The revisions in ``alembic_version`` (none for a new or empty database), read
    with plain SQL: what Alembic's ``MigrationContext.get_current_heads`` answers."""
    has_table = execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchall()
    if not has_table:
        return ()
    rows = execute("SELECT version_num FROM alembic_version").fetchall()
    return tuple(str(row[0]) for row in rows)


def refuse_foreign(execute: Execute, path: Path) -> None:
    """Raise :class:`NotADatabase` if the file without a revision holds tables (another
    program's database). SQLite's own ``sqlite_*`` tables do not count."""
    rows = execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' AND name != 'alembic_version'"
    ).fetchall()
    tables = sorted(str(row[0]) for row in rows)
    if tables:
        raise NotADatabase(
            f"{path} is an SQLite database of another program (it has the tables "
            f"{', '.join(tables)}), not a counter database."
        )


class ReadOnlyDatabase:
    """A counter database opened by :func:`open_read_only`: its connection, the mode it
    was opened in and the schema revisions it holds. Closes its connection as a
    context manager."""

    def __init__(
        self, connection: sqlite3.Connection, path: Path, mode: str, revisions: tuple[str, ...]
    ) -> None:
        self.connection = connection
        self.path = path
        self.mode = mode
        self.revisions = revisions

    @property
    def at_head(self) -> bool:
        """Whether the schema is the newest this code knows (else it needs a migration,
        or was written by a newer counter: :func:`db.engine.open_database` says which)."""
        return self.revisions == (HEAD_REVISION,)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> ReadOnlyDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def snapshot(self) -> Iterator[Execute]:
        """Statements that see one consistent state of the database (a deferred
        ``BEGIN``, which takes no write lock). SQLite's refusal while reading comes out as
        :class:`DatabaseError` (a damaged page) or :class:`DatabaseBusy`, worded as
        :func:`db.engine.read_session` words it."""
        connection = self.connection
        try:
            connection.execute("BEGIN")
            yield connection.execute
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            raise refusal(self.path, str(exc), "the query", locked=locked) from exc
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def connect(path: Path, mode: str) -> sqlite3.Connection:
    """A ``sqlite3`` connection to ``path`` in read-only ``mode`` (:func:`read_only_uri`);
    transactions are begun by the caller, never by the module."""
    connection = sqlite3.connect(
        read_only_uri(path, mode),
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except BaseException:
        connection.close()
        raise
    return connection


def read_only_modes(path: Path) -> list[str]:
    """The modes to try, in order: ``"ro"``; ``"immutable"`` alone where SQLite could not
    make the ``-shm`` file a read-only opening needs (a read-only folder without one);
    ``"immutable"`` after ``"ro"`` for a file this user cannot write."""
    shm = Path(f"{path}-shm")
    if not shm.exists() and not os.access(path.parent, os.W_OK):
        return ["immutable"]
    if not os.access(path, os.W_OK):
        return ["ro", "immutable"]
    return ["ro"]


def open_read_only(path: Path) -> ReadOnlyDatabase:
    """Open the counter database at ``path`` for reading, never creating or changing it.

    The file is opened without taking the write lock, so the counter keeps recording
    beside the reader, and it can be an archived copy on read-only media. Raises a
    :class:`DatabaseError` subclass with a readable message when the file is missing,
    empty, not SQLite, another program's database or an empty one, or when records
    wait in its ``-wal`` file that cannot be read (:class:`UnreadWal`). The schema
    revision is not judged here: see :attr:`ReadOnlyDatabase.at_head`.
    """
    check_database_file(path, create=False)
    wal = Path(f"{path}-wal")
    last: sqlite3.Error | None = None
    for mode in read_only_modes(path):
        if mode == "immutable" and wal.exists() and wal.stat().st_size > 0:
            # Immutable reads ignore the WAL, and this one may hold committed records.
            raise UnreadWal(
                f"The database {path} has records in its {wal.name} file that are not in "
                f"the main file yet, and the folder {path.parent} is read-only, so they "
                "cannot be read. Copy the database together with its -wal file to a "
                "writable folder and read the copy."
            )
        try:
            connection = connect(path, mode)
        except sqlite3.OperationalError as exc:
            last = exc
            continue
        try:
            revisions = stored_revisions(connection.execute)
            if not revisions:
                refuse_foreign(connection.execute, path)
                raise NotADatabase(f"{path} is an empty SQLite database, not a counter database.")
        except sqlite3.OperationalError as exc:
            connection.close()
            last = exc
            continue
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise NotADatabase(f"{path} cannot be read as a database: {exc}.") from exc
        except BaseException:
            connection.close()
            raise
        return ReadOnlyDatabase(connection, path, mode, revisions)
    assert last is not None
    raise DatabaseError(f"Cannot read the database {path}: {last}.")

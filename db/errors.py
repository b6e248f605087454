"""Why the database cannot be used: the errors every database module raises.

Apart from :mod:`db.engine` (which re-exports them) so that a command that reads the
database through the ``sqlite3`` module alone (:mod:`db.read_only`) raises the same
errors, with the same words, without loading SQLAlchemy.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import ClassVar


class DatabaseProblem(enum.StrEnum):
    """Why the database cannot be used, as a code the application puts into words."""

    MISSING = "missing"
    NOT_A_DATABASE = "not_a_database"
    SCHEMA_TOO_NEW = "schema_too_new"
    SCHEMA_TOO_OLD = "schema_too_old"
    BUSY = "busy"
    READ_ONLY = "read_only"
    FULL = "full"
    UNREAD_WAL = "unread_wal"
    CHAIN_BROKEN = "chain_broken"
    INCOMPLETE = "incomplete"
    OTHER = "other"


class DatabaseError(Exception):
    """The database cannot be used. ``str()`` says why in plain English, for the log and
    the technician; ``problem`` is the same reason as a code, for the attendant's words."""

    problem: ClassVar[DatabaseProblem] = DatabaseProblem.OTHER


class DatabaseMissing(DatabaseError):
    """No database file exists where one was expected."""

    problem = DatabaseProblem.MISSING


class NotADatabase(DatabaseError):
    """The file exists but is not a counter database (empty, not SQLite, foreign)."""

    problem = DatabaseProblem.NOT_A_DATABASE


class SchemaTooNew(DatabaseError):
    """The database was written by a newer version of the counter."""

    problem = DatabaseProblem.SCHEMA_TOO_NEW


class DatabaseBusy(DatabaseError):
    """Another program held the database locked for longer than the busy timeout."""

    problem = DatabaseProblem.BUSY


class DatabaseReadOnly(DatabaseError):
    """The file, or the folder it is in, can be read but not written."""

    problem = DatabaseProblem.READ_ONLY


class DatabaseFull(DatabaseError):
    """SQLite could not grow the file: the disk (or a size limit on the file) is full."""

    problem = DatabaseProblem.FULL


class UnreadWal(DatabaseReadOnly):
    """Records wait in the ``-wal`` file, and the folder is read-only: they cannot be read."""

    problem = DatabaseProblem.UNREAD_WAL


class SchemaTooOld(DatabaseError):
    """Opened for reading only, the database still needs a migration this code has."""

    problem = DatabaseProblem.SCHEMA_TOO_OLD


def refusal(path: Path, detail: str, doing: str, *, locked: bool) -> DatabaseError:
    """What SQLite's refusal of ``doing`` (``"the query"``, ``"the change"``) means:
    :class:`DatabaseBusy` when another program held its lock (``locked``),
    :class:`DatabaseFull` and :class:`DatabaseReadOnly` by SQLite's own words for
    SQLITE_FULL and SQLITE_READONLY (https://www.sqlite.org/rescode.html), otherwise a
    :class:`DatabaseError` with SQLite's ``detail`` (a damaged page, say)."""
    if locked:
        return DatabaseBusy(
            f"The database {path} stayed locked by another program; "
            f"{doing} did not happen. Try again."
        )
    if "database or disk is full" in detail:
        return DatabaseFull(
            f"The database {path} cannot grow: the disk is full; {doing} did not "
            "happen. Free space on the disk, then try again."
        )
    if "readonly database" in detail:
        return DatabaseReadOnly(
            f"The database {path} cannot be written ({detail}); {doing} did not happen."
        )
    return DatabaseError(f"The database {path} refused {doing}: {detail}.")

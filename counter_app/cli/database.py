"""What the supervisor's commands share: the configured language, the database opened
for reading, days as arguments, and how a refusal becomes a message and an exit code.

Exit codes: 0 done; 1 the database could not be used or read (damaged), an output file
could not or must not be written, or ``verify`` found a break; 2 wrong arguments (a
date that is not ``YYYY-MM-DD`` or lies outside ``FIRST_DAY`` .. ``LAST_DAY``, a period
that ends before it starts, ``xlsx`` without ``--output``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages
    from db.read_only import Execute


# The days a supervisor can ask for: the years the counter can have recorded in. Far
# outside them the local-time arithmetic itself would overflow.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


class UsageError(Exception):
    """A wrong argument; the message is shown and the command exits with 2."""


class DatabaseUnavailable(Exception):
    """The database could not be opened; the message is shown, exit code 1."""


class CannotWrite(Exception):
    """The output file could not be written; the message is shown, exit code 1."""


# -- helpers ---------------------------------------------------------------------------


def messages_for(ctx: CliContext) -> Messages:
    """The catalogue in the configured language (loads the configuration)."""
    from counter_app.i18n import Messages

    return Messages(ctx.config.language)


def counted(messages: Messages, key: str, count: int, **params: object) -> str:
    """``key`` with ``count`` filled in, or ``key_one`` for exactly one (Dutch and
    English both say "1 afgifte" / "1 drop-off" but "0 afgiften" / "0 drop-offs")."""
    return messages.t(f"{key}_one" if count == 1 else key, count=count, **params)


def parse_day(text: str, option: str, messages: Messages) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            messages.t("cli_export.not_a_date", option=option, text=repr(text))
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(
            messages.t(
                "cli_export.day_out_of_range",
                option=option,
                day=day.isoformat(),
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
        )
    return day


@contextmanager
def open_for_reading(ctx: CliContext, messages: Messages) -> Iterator[Engine]:
    """The configured database, opened read-only (never created); any database error
    while opening or reading becomes :class:`DatabaseUnavailable` with words."""
    from sqlalchemy.exc import SQLAlchemyError

    from db.engine import open_database

    path = ctx.config.database_path()
    with opening_words(messages, path):
        engine = open_database(path, create=False, read_only=True)
    try:
        with _reading_words(messages, (sqlite3.Error, SQLAlchemyError)):
            yield engine
    finally:
        engine.dispose()


@contextmanager
def read_only_snapshot(ctx: CliContext, messages: Messages) -> Iterator[Execute]:
    """The configured database read through the ``sqlite3`` module alone, in one read
    transaction: what :func:`open_for_reading` gives, for a command that runs a few
    statements of its own (``totals``) and need not load SQLAlchemy for them.

    A database whose schema is not the newest goes through ``open_database`` first,
    which brings it up to date where it can be written, or says in words why it cannot
    be read (too old on read-only media, too new); that one opening loads SQLAlchemy.
    """
    from db.read_only import open_read_only

    path = ctx.config.database_path()
    with opening_words(messages, path):
        database = open_read_only(path)
        if not database.at_head:
            database.close()
            from db.engine import open_database

            open_database(path, create=False, read_only=True).dispose()
            database = open_read_only(path)
    with database, _reading_words(messages, (sqlite3.Error,)), database.snapshot() as execute:
        yield execute


@contextmanager
def opening_words(
    messages: Messages, path: Path, failed: str = "cli_export.database_unavailable"
) -> Iterator[None]:
    """Opening the database at ``path``: a missing file, or one that fails to open,
    becomes :class:`DatabaseUnavailable` with words (``failed`` is the catalogue key of
    the latter's, with ``error``). Shared by every command that opens an existing file."""
    from counter_app.services.failures import failure_words
    from db.errors import DatabaseError, DatabaseMissing

    try:
        yield
    except DatabaseMissing as exc:
        raise DatabaseUnavailable(messages.t("cli_export.no_database", path=path)) from exc
    except DatabaseError as exc:
        raise DatabaseUnavailable(messages.t(failed, error=failure_words(exc, messages))) from exc


@contextmanager
def _reading_words(
    messages: Messages, driver_errors: tuple[type[Exception], ...]
) -> Iterator[None]:
    from counter_app.services.failures import failure_words
    from db.errors import DatabaseBusy, DatabaseError

    try:
        yield
    except DatabaseBusy as exc:
        raise DatabaseUnavailable(
            messages.t("cli_export.database_unavailable", error=failure_words(exc, messages))
        ) from exc
    except DatabaseError as exc:
        # Found while reading: a damaged file ("database disk image is malformed").
        raise DatabaseUnavailable(messages.t("cli_export.database_damaged", error=exc)) from exc
    except driver_errors as exc:
        detail = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(
            messages.t("cli_export.database_damaged", error=f"{detail}.")
        ) from exc


def run_command(ctx: CliContext, body: Any) -> int:
    try:
        result: int = body()
    except UsageError as exc:
        print(f"counter: {exc}", file=ctx.err)
        return 2
    except DatabaseUnavailable as exc:
        print(f"counter: {exc}", file=ctx.err)
        return 1
    except CannotWrite as exc:
        print(f"counter export: {exc}", file=ctx.err)
        return 1
    return result

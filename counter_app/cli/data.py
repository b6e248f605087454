"""``counter export``, ``counter totals`` and ``counter verify`` (DESIGN.md section 4).

These are supervisor and technician commands; they read the database named by the
configuration (``[database] path``) and never create one: a wrong path is reported,
not answered with an empty export.

What a person reads (the totals table, the export's messages, the verify report)
speaks the configured language through the message catalogue (``cli_totals``,
``cli_export``, ``cli_verify``). What a program reads does not change with it: the
CSV, XLSX and JSON of ``export`` and the JSON of ``totals --format json`` are the
same bytes in every language (DESIGN.md section 4).

Exit codes: 0 done; 1 the database could not be used or read (damaged), the export
file could not or must not be written, or ``verify`` found a break; 2 wrong arguments
(a date that is not ``YYYY-MM-DD`` or lies outside ``FIRST_DAY`` .. ``LAST_DAY``, a
period that ends before it starts, ``xlsx`` without ``--output``).

``export --output`` never overwrites a database: not the configured one, its ``-wal``,
``-shm`` or ``-journal``, nor any SQLite file, through a symlink either, not even with
``--force``. An existing regular file is replaced only with ``--force``. A regular file
is written through a temporary file in the same folder and a rename (a new one with
mode 0600); a device or pipe, and ``-`` (standard output), are written directly.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.domain import STATION_TZ, Classification

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.cli import CliContext
    from counter_app.i18n import Messages
    from db.records import DayTotals


# The days a supervisor can ask for: the years the counter can have recorded in. Far
# outside them the local-time arithmetic itself would overflow.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)

_SQLITE_HEADER = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html 1.3
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")  # fileformat.html 4.1
_DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


class _UsageError(Exception):
    """A wrong argument; the message is shown and the command exits with 2."""


class _DatabaseUnavailable(Exception):
    """The database could not be opened; the message is shown, exit code 1."""


class _CannotWrite(Exception):
    """The output file could not be written; the message is shown, exit code 1."""


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="export drop-offs of a period as CSV, XLSX or JSON",
        description="One row per drop-off, local days FROM to TO inclusive. "
        "Columns: id, label_code, recorded_at, station_id, visit_id, classification, "
        "category, eural_code, weight_kg, weight_source, operator, voided.",
    )
    export.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    export.add_argument("--format", dest="fmt", required=True, choices=("csv", "xlsx", "json"))
    export.add_argument(
        "--output",
        metavar="F",
        help="file to write (default or '-': standard output; xlsx needs a file); "
        "an existing file only with --force, a database never",
    )
    export.add_argument(
        "--force", action="store_true", help="replace F if it exists (never a database)"
    )
    export.set_defaults(handler=_export)

    totals = subparsers.add_parser(
        "totals", help="kilograms per classification and fraction of one day"
    )
    totals.add_argument("--day", metavar="YYYY-MM-DD", help="local day (default: today)")
    totals.add_argument("--format", dest="fmt", choices=("table", "json"), default="table")
    totals.set_defaults(handler=_totals)

    verify = subparsers.add_parser(
        "verify",
        help="check that no record was changed, removed or inserted afterwards",
        description="Checks the database file (SQLite's quick_check; integrity_check and "
        "the references between rows with --full) and every station's hash chain, and "
        "prints each station's anchor: STATION:NUMBER:HASH. Keep anchors outside the "
        "database (the totals slip prints one); --anchor proves the database still "
        "holds the state an anchor was taken from.",
    )
    verify.add_argument(
        "--full", action="store_true", help="check every page and index of the file (slower)"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="HASH",
        help="an anchor (STATION:NUMBER:HASH) the database must still contain; repeatable",
    )
    verify.set_defaults(handler=_verify)


# -- helpers ---------------------------------------------------------------------------


def _messages(ctx: CliContext) -> Messages:
    """The catalogue in the configured language (loads the configuration)."""
    from counter_app.i18n import Messages

    return Messages(ctx.config.language)


def _counted(messages: Messages, key: str, count: int, **params: object) -> str:
    """``key`` with ``count`` filled in, or ``key_one`` for exactly one (Dutch and
    English both say "1 afgifte" / "1 drop-off" but "0 afgiften" / "0 drop-offs")."""
    return messages.t(f"{key}_one" if count == 1 else key, count=count, **params)


def _parse_day(text: str, option: str, messages: Messages) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _UsageError(
            messages.t("cli_export.not_a_date", option=option, text=repr(text))
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _UsageError(
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
def _database(ctx: CliContext, messages: Messages) -> Iterator[Engine]:
    from sqlalchemy.exc import SQLAlchemyError

    from db.engine import DatabaseBusy, DatabaseError, DatabaseMissing, open_database

    path = ctx.config.database_path()
    try:
        engine = open_database(path, create=False, read_only=True)
    except DatabaseMissing as exc:
        raise _DatabaseUnavailable(messages.t("cli_export.no_database", path=path)) from exc
    except DatabaseError as exc:
        # The reason comes from db/ in English; the words around it are translated.
        raise _DatabaseUnavailable(
            messages.t("cli_export.database_unavailable", error=exc)
        ) from exc
    try:
        yield engine
    except DatabaseBusy as exc:
        raise _DatabaseUnavailable(
            messages.t("cli_export.database_unavailable", error=exc)
        ) from exc
    except DatabaseError as exc:
        # Found while reading: a damaged file ("database disk image is malformed").
        raise _DatabaseUnavailable(messages.t("cli_export.database_damaged", error=exc)) from exc
    except (sqlite3.Error, SQLAlchemyError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise _DatabaseUnavailable(
            messages.t("cli_export.database_damaged", error=f"{detail}.")
        ) from exc
    finally:
        engine.dispose()


def _run(ctx: CliContext, body: Any) -> int:
    try:
        result: int = body()
    except _UsageError as exc:
        print(f"counter: {exc}", file=ctx.err)
        return 2
    except _DatabaseUnavailable as exc:
        print(f"counter: {exc}", file=ctx.err)
        return 1
    except _CannotWrite as exc:
        print(f"counter export: {exc}", file=ctx.err)
        return 1
    return result


def _kg(grams: int) -> Decimal:
    """Kilograms for a program (a JSON number ``12.340``), the same in every language."""
    from db.export import grams_to_kg

    return grams_to_kg(grams)


def _percent(share: Decimal | None, language: str) -> str:
    """``0.3000`` -> ``"30,0 %"`` (Dutch) or ``"30.0 %"`` (English); ``"-"`` for none."""
    if share is None:
        return "-"
    text = str((share * 100).quantize(Decimal("0.1")))
    return f"{text.replace('.', ',') if language == 'nl' else text} %"


def _circular_share(totals: DayTotals) -> Decimal | None:
    reuse, repair = totals.share(Classification.REUSE), totals.share(Classification.REPAIR)
    if reuse is None or repair is None:
        return None
    return reuse + repair


# -- export ----------------------------------------------------------------------------


def _is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts like an SQLite database or WAL."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as stream:
            header = stream.read(len(_SQLITE_HEADER))
    except OSError:
        return False
    return header == _SQLITE_HEADER or header[:4] in _WAL_MAGIC


def _is_database(target: Path, database: Path) -> bool:
    """Whether writing ``target`` (resolved) could damage a database: the counter's own
    or its companion files, any SQLite file, or a companion of one."""
    database = database.expanduser().resolve()
    if target in {database, *(Path(f"{database}{end}") for end in _DATABASE_COMPANIONS)}:
        return True
    try:
        if target.exists() and database.exists() and os.path.samefile(target, database):
            return True
    except OSError:
        pass
    if _is_sqlite_file(target):
        return True
    return any(
        target.name.endswith(end) and _is_sqlite_file(target.with_name(target.name[: -len(end)]))
        for end in _DATABASE_COMPANIONS
    )


class _Output:
    """Where ``export --output`` writes, and the checks that keep it from harm."""

    def __init__(self, output: str, database: Path, *, force: bool, messages: Messages) -> None:
        self.output = output
        self.target = Path(output).resolve()  # through symlinks: what would be written
        self.database = database
        self.force = force
        self.messages = messages

    def _refusal(self, key: str) -> _CannotWrite:
        return _CannotWrite(self.messages.t(key, path=self.output))

    def _cannot_write(self, exc: OSError) -> _CannotWrite:
        reason = exc.strerror or exc
        return _CannotWrite(
            self.messages.t("cli_export.cannot_write", path=self.output, reason=reason)
        )

    def check(self) -> None:
        """Refuse a database (always) and an existing regular file (without --force)."""
        if _is_database(self.target, self.database):
            raise self._refusal("cli_export.output_is_database")
        if self.target.is_dir():
            raise self._cannot_write(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
        if self.target.is_file() and not self.force:
            raise self._refusal("cli_export.output_exists")

    def write(self, data: bytes) -> None:
        """Write ``data`` completely, or leave no file behind.

        A regular file is filled as a temporary file in the same folder, which then
        takes the output's name in one step: an export that fails half-way (a full
        disk) leaves no half file that looks like a whole one, and an earlier export
        under the same name stays as it was. A new file gets mode 0600; a file
        replaced with --force keeps its mode. A device or pipe is written directly.
        """
        self.check()
        target = self.target
        try:
            if target.exists() and not target.is_file():
                with target.open("wb") as stream:
                    stream.write(data)
                return
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            partial = Path(name)
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(partial, 0o600)
                self._publish(partial)
            finally:
                partial.unlink(missing_ok=True)
        except OSError as exc:
            raise self._cannot_write(exc) from exc

    def _publish(self, partial: Path) -> None:
        self.check()  # again: the file may have appeared while the export was read
        if self.force:
            if self.target.is_file():
                os.chmod(partial, stat.S_IMODE(self.target.stat().st_mode))
            os.replace(partial, self.target)
            return
        try:
            # A hard link never replaces a file that appeared after the check.
            os.link(partial, self.target)
        except FileExistsError:
            raise self._refusal("cli_export.output_exists") from None
        except OSError:
            # A file system without hard links (FAT): checked just above.
            os.replace(partial, self.target)


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.export import ExportIncomplete, export_rows, write_csv, write_json, write_xlsx
        from db.records import chain_heads

        messages = _messages(ctx)
        start = _parse_day(args.start, "--from", messages)
        end = _parse_day(args.end, "--to", messages)
        if end < start:
            raise _UsageError(messages.t("cli_export.period_reversed", start=start, end=end))
        to_stdout = args.output in (None, "", "-")
        if args.fmt == "xlsx" and to_stdout:
            raise _UsageError(messages.t("cli_export.xlsx_needs_output"))
        output = None
        if not to_stdout:
            output = _Output(
                args.output, ctx.config.database_path(), force=args.force, messages=messages
            )
            output.check()  # before reading: a refused output costs nothing
        with _database(ctx, messages) as engine:
            try:
                rows = export_rows(engine, start, end, STATION_TZ)
            except ExportIncomplete as exc:
                raise _CannotWrite(
                    messages.t("cli_export.rows_missing", found=exc.found, expected=exc.expected)
                ) from exc
            # The whole hash of each station's newest link: the export can later prove
            # with 'counter verify --anchor' that the database still holds this state.
            anchors = [anchor.text(64) for anchor in chain_heads(engine)]

        # The whole export is made in memory first, so a file or device gets either
        # all of it or a clear message (never a half workbook and a traceback).
        if args.fmt == "xlsx":
            buffer = io.BytesIO()
            write_xlsx(rows, buffer, start_day=start, end_day=end, tz=STATION_TZ, anchors=anchors)
            data = buffer.getvalue()
        else:
            stream = io.StringIO(newline="")
            if args.fmt == "csv":
                write_csv(rows, stream)
            else:
                write_json(rows, stream, start_day=start, end_day=end, anchors=anchors)
            if output is None:
                ctx.out.write(stream.getvalue())
                return 0
            data = stream.getvalue().encode("utf-8")
        assert output is not None
        output.write(data)
        print(_counted(messages, "cli_export.written", len(rows), path=args.output), file=ctx.err)
        return 0

    return _run(ctx, body)


# -- totals ----------------------------------------------------------------------------


def _totals_json(totals: DayTotals) -> dict[str, Any]:
    return {
        "day": totals.day.isoformat(),
        "total_kg": _kg(totals.total_grams),
        "count": totals.count,
        "voided_count": totals.voided_count,
        "reuse_share": totals.reuse_share,
        "reuse_repair_share": _circular_share(totals),
        "classifications": {
            name: {
                "kg": _kg(grams),
                "count": totals.count_by_classification[name],
                "share": totals.share(name),
            }
            for name, grams in totals.grams_by_classification.items()
        },
        "categories": [
            {
                "classification": c.classification,
                "category_code": c.category_code,
                "category_name": c.category_name,
                "eural_code": c.eural_code,
                "kg": _kg(c.grams),
                "count": c.count,
            }
            for c in totals.categories
        ],
    }


def _table_decimals(totals: DayTotals) -> int:
    """Two decimals, as the counter's screen shows kilograms, or three for every number
    when one of them has a gram that two would hide: a column keeps its commas aligned
    and no gram goes missing from a total."""
    grams = [
        *totals.grams_by_classification.values(),
        *(c.grams for c in totals.categories),
    ]
    return 2 if all(g % 10 == 0 for g in grams) else 3


def _print_totals_table(totals: DayTotals, ctx: CliContext, messages: Messages) -> None:
    from rich.console import Console
    from rich.table import Table

    from counter_app.i18n import format_kg

    language = messages.language
    decimals = _table_decimals(totals)

    def kg(grams: int) -> str:
        # The column header says "kg"; the cells hold the number alone.
        return format_kg(grams, language, decimals=decimals).removesuffix(" kg")

    def classification(name: str) -> str:
        key = f"classification.{name}"
        return messages.t(key) if key in messages else name

    console = Console(file=ctx.out, highlight=False, soft_wrap=False)
    by_class = Table(title=messages.t("cli_totals.title", day=totals.day.isoformat()))
    by_class.add_column(messages.t("cli_totals.classification"))
    by_class.add_column("kg", justify="right")
    by_class.add_column(messages.t("cli_totals.drop_offs"), justify="right")
    by_class.add_column(messages.t("cli_totals.share"), justify="right")
    for name, grams in totals.grams_by_classification.items():
        by_class.add_row(
            classification(name),
            kg(grams),
            str(totals.count_by_classification[name]),
            _percent(totals.share(name), language),
        )
    by_class.add_section()
    by_class.add_row(messages.t("cli_totals.total"), kg(totals.total_grams), str(totals.count), "")
    console.print(by_class)

    if totals.categories:
        by_category = Table(title=messages.t("cli_totals.per_category"))
        by_category.add_column(messages.t("cli_totals.classification"))
        by_category.add_column(messages.t("cli_totals.code"))
        by_category.add_column(messages.t("cli_totals.name"))
        by_category.add_column("EURAL")
        by_category.add_column("kg", justify="right")
        by_category.add_column(messages.t("cli_totals.drop_offs"), justify="right")
        for category in totals.categories:
            by_category.add_row(
                classification(category.classification),
                category.category_code,
                category.category_name,
                category.eural_code or "",
                kg(category.grams),
                str(category.count),
            )
        console.print(by_category)
    console.print(
        messages.t("cli_totals.reuse_share", percent=_percent(totals.reuse_share, language))
    )
    console.print(
        messages.t(
            "cli_totals.reuse_repair_share", percent=_percent(_circular_share(totals), language)
        )
    )
    if totals.voided_count:
        console.print(messages.t("cli_totals.voided", count=totals.voided_count))


def _totals(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.records import chain_heads, totals_for_day

        messages = _messages(ctx)
        day = (
            _parse_day(args.day, "--day", messages) if args.day else datetime.now(STATION_TZ).date()
        )
        with _database(ctx, messages) as engine:
            totals = totals_for_day(engine, day, STATION_TZ)
            anchors = chain_heads(engine)
        if args.fmt == "json":
            # For programs: the same bytes in every language.
            from db.export import json_text

            # Kilograms and shares are JSON numbers with their exact decimals.
            document = {**_totals_json(totals), "chain_anchors": [a.text(64) for a in anchors]}
            ctx.out.write(json_text(document) + "\n")
        else:
            _print_totals_table(totals, ctx, messages)
            for anchor in anchors:
                print(
                    messages.t("cli_verify.head", station=anchor.station_id, anchor=anchor.text()),
                    file=ctx.out,
                )
        return 0

    return _run(ctx, body)


# -- verify ----------------------------------------------------------------------------


def _verify(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.chain import Anchor, AnchorError
        from db.engine import DatabaseError, check_file
        from db.records import verify_chain

        messages = _messages(ctx)
        try:
            anchors = [Anchor.parse(text) for text in args.anchor]
        except AnchorError:
            raise _UsageError(messages.t("cli_verify.not_an_anchor")) from None
        with _database(ctx, messages) as engine:
            physical = check_file(engine, full=args.full)
            _print_file_check(physical, ctx, messages)
            try:
                report = verify_chain(engine, anchors)
            except DatabaseError as exc:
                print(messages.t("cli_verify.chain_unreadable", error=exc), file=ctx.out)
                return 1
        _print_chain_report(report, ctx, messages)
        return 0 if physical.ok and report.ok else 1

    return _run(ctx, body)


def _print_file_check(physical: Any, ctx: CliContext, messages: Messages) -> None:
    kind = messages.t("cli_verify.full_check" if physical.full else "cli_verify.quick_check")
    if physical.ok:
        print(messages.t("cli_verify.file_ok", kind=kind), file=ctx.out)
        return
    print(messages.t("cli_verify.file_damaged", kind=kind), file=ctx.out)
    for problem in physical.problems:
        print(f"  {problem}", file=ctx.out)


def _print_chain_report(report: Any, ctx: CliContext, messages: Messages) -> None:
    if report.ok:
        print(_counted(messages, "cli_verify.ok", report.count), file=ctx.out)
    else:
        print(
            messages.t("cli_verify.broken", problem=chain_problem_words(report.issue, messages)),
            file=ctx.out,
        )
        if report.first_broken_id is not None:
            print(messages.t("cli_verify.first_broken", id=report.first_broken_id), file=ctx.out)
        print(_counted(messages, "cli_verify.checked", report.count), file=ctx.out)
    for anchor in report.anchors:
        if report.ok:
            print(messages.t("cli_verify.anchor_held", anchor=anchor.text()), file=ctx.out)
    for head in report.heads:
        print(
            messages.t("cli_verify.head", station=head.station_id, anchor=head.text()),
            file=ctx.out,
        )
    if report.heads:
        print(messages.t("cli_verify.keep_anchor"), file=ctx.out)


def chain_problem_words(issue: Any, messages: Messages) -> str:
    """A ``db.records.ChainProblem`` in the configured language."""
    facts = dict(issue.facts)
    kind = facts.get("kind")
    if kind is not None:
        facts["row"] = messages.t(f"cli_verify.row_{kind}", **facts)
    return messages.t(f"cli_verify.problem_{issue.code}", **facts)

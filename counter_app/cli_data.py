"""``counter export``, ``counter totals`` and ``counter verify`` (DESIGN.md section 4).

These are supervisor and technician commands; they read the database named by the
configuration (``[database] path``) and never create one: a wrong path is reported,
not answered with an empty export.

What a person reads (the totals table, the export's messages, the verify report)
speaks the configured language through the message catalogue (``cli_totals``,
``cli_export``, ``cli_verify``). What a program reads does not change with it: the
CSV, XLSX and JSON of ``export`` and the JSON of ``totals --format json`` are the
same bytes in every language (DESIGN.md section 4).

Exit codes: 0 done; 1 the database could not be used, the export file could not be
written, or ``verify`` found a break; 2 wrong arguments (a date that is not
``YYYY-MM-DD``, a period that ends before it starts, ``xlsx`` without ``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.cli import CliContext
    from counter_app.i18n import Messages
    from db.records import DayTotals

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")


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
        "--output", metavar="F", help="file to write (default: standard output; xlsx needs F)"
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
        return date.fromisoformat(text)
    except ValueError:
        raise _UsageError(
            messages.t("cli_export.not_a_date", option=option, text=repr(text))
        ) from None


@contextmanager
def _database(ctx: CliContext, messages: Messages) -> Iterator[Engine]:
    from db.engine import DatabaseError, DatabaseMissing, open_database

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


def _kg(grams: int) -> str:
    """Kilograms for a program (JSON): ``"12.340"``, the same in every language."""
    from db.export import grams_to_kg_text

    return grams_to_kg_text(grams)


def _percent(share: Decimal | None, language: str) -> str:
    """``0.3000`` -> ``"30,0 %"`` (Dutch) or ``"30.0 %"`` (English); ``"-"`` for none."""
    if share is None:
        return "-"
    text = str((share * 100).quantize(Decimal("0.1")))
    return f"{text.replace('.', ',') if language == 'nl' else text} %"


def _circular_share(totals: DayTotals) -> Decimal | None:
    reuse, repair = totals.share("reuse"), totals.share("repair")
    if reuse is None or repair is None:
        return None
    return reuse + repair


# -- export ----------------------------------------------------------------------------


def _new_file_mode(target: Path) -> int:
    """The permissions the file would get if opened the usual way (kept if it exists)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _write_whole(output: str, write: Callable[[Path], None], messages: Messages) -> None:
    """Have ``write`` fill ``output`` completely, or leave no file behind.

    ``write`` fills a temporary file in the same folder, which then replaces the
    output in one step: an export that fails half-way (a full disk, a bad weight)
    leaves no half file that looks like a whole one, and an earlier export under the
    same name stays as it was. A device or pipe (``/dev/stdout``) is written directly.
    """
    target = Path(output).resolve()
    try:
        if target.exists() and not target.is_file() and not target.is_dir():
            write(target)
            return
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(fd)
        partial = Path(name)
        try:
            write(partial)
            os.chmod(partial, _new_file_mode(target))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise _CannotWrite(
            messages.t("cli_export.cannot_write", path=output, reason=exc.strerror or exc)
        ) from exc


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.export import export_rows, write_csv, write_json, write_xlsx

        messages = _messages(ctx)
        start = _parse_day(args.start, "--from", messages)
        end = _parse_day(args.end, "--to", messages)
        if end < start:
            raise _UsageError(messages.t("cli_export.period_reversed", start=start, end=end))
        if args.fmt == "xlsx" and not args.output:
            raise _UsageError(messages.t("cli_export.xlsx_needs_output"))
        with _database(ctx, messages) as engine:
            rows = export_rows(engine, start, end, LOCAL_TZ)
        write_text = write_csv if args.fmt == "csv" else write_json

        def write(path: Path) -> None:
            if args.fmt == "xlsx":
                write_xlsx(rows, path)
            else:
                with path.open("w", encoding="utf-8", newline="") as stream:
                    write_text(rows, stream)

        if args.output:
            _write_whole(args.output, write, messages)
        else:
            write_text(rows, ctx.out)
        if args.output:
            print(
                _counted(messages, "cli_export.written", len(rows), path=args.output), file=ctx.err
            )
        return 0

    return _run(ctx, body)


# -- totals ----------------------------------------------------------------------------


def _totals_json(totals: DayTotals) -> dict[str, Any]:
    return {
        "day": totals.day.isoformat(),
        "total_kg": _kg(totals.total_grams),
        "count": totals.count,
        "voided_count": totals.voided_count,
        "reuse_share": None if totals.reuse_share is None else str(totals.reuse_share),
        "reuse_repair_share": (
            None if _circular_share(totals) is None else str(_circular_share(totals))
        ),
        "classifications": {
            name: {
                "kg": _kg(grams),
                "count": totals.count_by_classification[name],
                "share": (None if totals.share(name) is None else str(totals.share(name))),
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
        from db.records import totals_for_day

        messages = _messages(ctx)
        day = _parse_day(args.day, "--day", messages) if args.day else datetime.now(LOCAL_TZ).date()
        with _database(ctx, messages) as engine:
            totals = totals_for_day(engine, day, LOCAL_TZ)
        if args.fmt == "json":
            # For programs: the same bytes in every language.
            json.dump(_totals_json(totals), ctx.out, ensure_ascii=False, indent=2)
            ctx.out.write("\n")
        else:
            _print_totals_table(totals, ctx, messages)
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

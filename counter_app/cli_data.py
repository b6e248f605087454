"""``counter export``, ``counter totals`` and ``counter verify`` (DESIGN.md section 4).

These are supervisor and technician commands; they read the database named by the
configuration (``[database] path``) and never create one: a wrong path is reported,
not answered with an empty export.

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
        "verify", help="check that no record was changed, removed or inserted afterwards"
    )
    verify.set_defaults(handler=_verify)


# -- helpers ---------------------------------------------------------------------------


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _UsageError(
            f"{option}: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-05-31"
        ) from None


@contextmanager
def _database(ctx: CliContext) -> Iterator[Engine]:
    from db.engine import DatabaseError, open_database

    path = ctx.config.database_path()
    try:
        engine = open_database(path, create=False)
    except DatabaseError as exc:
        raise _DatabaseUnavailable(str(exc)) from exc
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
    from db.export import grams_to_kg_text

    return grams_to_kg_text(grams)


def _percent(share: Decimal | None) -> str:
    if share is None:
        return "-"
    return f"{(share * 100).quantize(Decimal('0.1'))} %"


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


def _write_whole(output: str, write: Callable[[Path], None]) -> None:
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
        raise _CannotWrite(f"cannot write {output}: {exc.strerror or exc}") from exc


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.export import export_rows, write_csv, write_json, write_xlsx

        start = _parse_day(args.start, "--from")
        end = _parse_day(args.end, "--to")
        if end < start:
            raise _UsageError(f"--to {end} is before --from {start}")
        if args.fmt == "xlsx" and not args.output:
            raise _UsageError("--format xlsx needs --output FILE (a workbook is not text)")
        with _database(ctx) as engine:
            rows = export_rows(engine, start, end, LOCAL_TZ)
        write_text = write_csv if args.fmt == "csv" else write_json

        def write(path: Path) -> None:
            if args.fmt == "xlsx":
                write_xlsx(rows, path)
            else:
                with path.open("w", encoding="utf-8", newline="") as stream:
                    write_text(rows, stream)

        if args.output:
            _write_whole(args.output, write)
        else:
            write_text(rows, ctx.out)
        if args.output:
            print(f"{len(rows)} drop-offs written to {args.output}", file=ctx.err)
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


def _print_totals_table(totals: DayTotals, ctx: CliContext) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=ctx.out, highlight=False, soft_wrap=False)
    by_class = Table(title=f"Totals for {totals.day.isoformat()}")
    by_class.add_column("Classification")
    by_class.add_column("kg", justify="right")
    by_class.add_column("Drop-offs", justify="right")
    by_class.add_column("Share", justify="right")
    for name, grams in totals.grams_by_classification.items():
        by_class.add_row(
            name,
            _kg(grams),
            str(totals.count_by_classification[name]),
            _percent(totals.share(name)),
        )
    by_class.add_section()
    by_class.add_row("total", _kg(totals.total_grams), str(totals.count), "")
    console.print(by_class)

    if totals.categories:
        by_category = Table(title="Per category and fraction")
        by_category.add_column("Classification")
        by_category.add_column("Code")
        by_category.add_column("Name")
        by_category.add_column("EURAL")
        by_category.add_column("kg", justify="right")
        by_category.add_column("Drop-offs", justify="right")
        for c in totals.categories:
            by_category.add_row(
                c.classification,
                c.category_code,
                c.category_name,
                c.eural_code or "",
                _kg(c.grams),
                str(c.count),
            )
        console.print(by_category)
    console.print(f"Reuse share: {_percent(totals.reuse_share)}")
    console.print(f"Reuse and repair share: {_percent(_circular_share(totals))}")
    if totals.voided_count:
        console.print(f"Voided drop-offs (not counted): {totals.voided_count}")


def _totals(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.records import totals_for_day

        day = _parse_day(args.day, "--day") if args.day else datetime.now(LOCAL_TZ).date()
        with _database(ctx) as engine:
            totals = totals_for_day(engine, day, LOCAL_TZ)
        if args.fmt == "json":
            json.dump(_totals_json(totals), ctx.out, ensure_ascii=False, indent=2)
            ctx.out.write("\n")
        else:
            _print_totals_table(totals, ctx)
        return 0

    return _run(ctx, body)


# -- verify ----------------------------------------------------------------------------


def _verify(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.records import verify_chain

        with _database(ctx) as engine:
            report = verify_chain(engine)
        if report.ok:
            print(f"OK: {report.count} records checked; the chain is unbroken", file=ctx.out)
            return 0
        print(f"BROKEN: {report.problem}", file=ctx.out)
        if report.first_broken_id is not None:
            print(f"first broken record: {report.first_broken_id}", file=ctx.out)
        print(f"{report.count} records checked", file=ctx.out)
        return 1

    return _run(ctx, body)

"""``counter printer test | status | queue``: the technician's printer commands.

``test`` renders the test page for the configured profile and sends it straight
through the configured connection (not through the print queue: the technician wants
to see the printer answer now). ``status`` asks the printer ``DLE EOT`` where the
connection can and says what it answered in words. ``queue`` lists the jobs that wait
in the database. Like ``counter config``, these speak English.

Exit codes: 0 done (``status``: the printer said it is ready); 1 the printer failed,
is not ready, or its state is unknown; 2 a wrong printer setting.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from counter_app.cli import CliContext

if TYPE_CHECKING:
    from drivers.printer.connection import PrinterConnection, PrinterStatus


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "printer", help="print a test page, ask the printer's status, list the print queue"
    )
    parser.set_defaults(handler=_usage(parser))
    commands = parser.add_subparsers(title="printer commands", metavar="COMMAND")
    test_parser = commands.add_parser(
        "test", help="send the test page straight to the configured printer"
    )
    test_parser.add_argument(
        "--force",
        action="store_true",
        help="send even when the printer says it cannot print (paper out, cover open)",
    )
    test_parser.set_defaults(handler=test)
    commands.add_parser(
        "status", help="ask the printer how it is (DLE EOT); exit 0 when it is ready"
    ).set_defaults(handler=status)
    commands.add_parser("queue", help="list the print jobs waiting in the database").set_defaults(
        handler=queue
    )


def _usage(parser: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return handler


def _connection(ctx: CliContext) -> PrinterConnection | None:
    """The configured connection, or None after saying what is wrong with the setting."""
    from counter_app.services.printing import connection_for

    try:
        return connection_for(ctx.config)
    except ValueError as exc:
        print(f"printer setting: {exc}", file=ctx.err)
        return None


def test(args: argparse.Namespace, ctx: CliContext) -> int:
    from drivers.printer.connection import PrinterError
    from drivers.printer.documents import render_test_page
    from drivers.printer.preview import PreviewConnection

    config = ctx.config
    connection = _connection(ctx)
    if connection is None:
        return 2
    try:
        page = render_test_page(config.printer.profile, config.station.name)
    except ValueError as exc:  # an unknown profile in a file written by hand
        print(f"printer setting: {exc}", file=ctx.err)
        return 2
    try:
        # Ask first, as the counter does before every label: a printer that says it
        # cannot print gets nothing, unless the technician insists.
        printer = connection.status()
        if printer.ready is False and not getattr(args, "force", False):
            from drivers.printer.status import not_ready_reason

            print(
                f"test page not printed: the printer is {not_ready_reason(printer)} "
                "(use --force to send it anyway)",
                file=ctx.err,
            )
            return 1
        connection.send(page)
    except PrinterError as exc:
        print(f"test page not printed: {exc}", file=ctx.err)
        return 1
    where = connection.describe()
    if isinstance(connection, PreviewConnection) and connection.last_path is not None:
        where = f"preview file {connection.last_path}"
    print(
        f"test page sent to {where} ({len(page)} bytes, profile {config.printer.profile})",
        file=ctx.out,
    )
    return 0


def status(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.services.printing import can_ask_status
    from drivers.printer.connection import PrinterError

    connection = _connection(ctx)
    if connection is None:
        return 2
    print(f"printer: {connection.describe()}", file=ctx.out)
    if not can_ask_status(connection):
        print(
            f"status: unknown: this connection cannot ask ({connection.kind} "
            "takes jobs but gives no answers)",
            file=ctx.out,
        )
        return 1
    try:
        answer = connection.status()
    except PrinterError as exc:
        print(f"status: not reachable: {exc}", file=ctx.out)
        return 1
    if not answer.answered:
        print(
            "status: no answer: the printer took the connection but did not reply to DLE EOT",
            file=ctx.out,
        )
        return 1
    for line in status_words(answer):
        print(line, file=ctx.out)
    return 0 if answer.ready else 1


def status_words(answer: PrinterStatus) -> list[str]:
    """What the printer said, a line per thing, ending with whether it can print."""
    from drivers.printer.connection import PaperState

    def said(value: bool | None, yes: str, no: str) -> str:
        return "not reported" if value is None else yes if value else no

    paper = {
        PaperState.OK: "ok",
        PaperState.NEAR_END: "near end",
        PaperState.OUT: "out",
        PaperState.UNKNOWN: "not reported",
    }[answer.paper]
    return [
        f"online: {said(answer.online, 'online', 'offline')}",
        f"cover: {said(answer.cover_open, 'open', 'closed')}",
        f"paper: {paper}",
        f"error: {said(answer.error, 'yes (cutter jam or overheated head)', 'no')}",
        f"ready: {'yes' if answer.ready else 'no'}",
    ]


def queue(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.services.printing import LOCAL_TZ
    from db.engine import DatabaseError, open_database
    from db.printjobs import pending_print_jobs

    path = ctx.config.database_path()
    try:
        engine = open_database(path, create=False)
    except DatabaseError as exc:
        print(str(exc), file=ctx.err)
        return 1
    try:
        jobs = pending_print_jobs(engine)
    except DatabaseError as exc:
        print(str(exc), file=ctx.err)
        return 1
    finally:
        engine.dispose()
    if not jobs:
        print("no print jobs waiting", file=ctx.out)
        return 0
    print(f"{len(jobs)} print job(s) waiting, oldest first:", file=ctx.out)
    for job in jobs:
        queued = job.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        parts = [queued, job.label_code or "-", job.document, job.status]
        parts.append(f"attempts {job.attempts}")
        if job.copy_marker:
            parts.append(job.copy_marker)
        line = "  ".join(parts)
        if job.last_error:
            line += f"  last error: {job.last_error}"
        print(line, file=ctx.out)
    return 0

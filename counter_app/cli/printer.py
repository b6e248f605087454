"""``counter printer test | status | queue``: the technician's printer commands.

``test`` renders the test page for the configured profile and sends it straight
through the configured connection (not through the print queue: the technician wants
to see the printer answer now). ``status`` asks the printer ``DLE EOT`` where the
connection can and says what it answered in words. ``queue`` lists the jobs that wait
in the database. The words come from the message catalogue (``cli_printer``) in the
configured language; a reason given by the printer driver or the database is shown
as it was written, in English, after them.

Exit codes: 0 done (``status``: the printer said it is ready); 1 the printer failed,
is not ready, or its state is unknown; 2 a wrong printer setting.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from counter_app.cli.context import CliContext
from counter_app.services.failures import failure_words

if TYPE_CHECKING:
    from counter_app.i18n import Messages
    from drivers.printer.connection import PrinterConnection, PrinterStatus


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    parser = subparsers.add_parser("printer", help=t("cli_help.printer"))
    parser.set_defaults(handler=_usage(parser))
    commands = parser.add_subparsers(title=t("cli_help.printer_commands"), metavar="COMMAND")
    test_parser = commands.add_parser("test", help=t("cli_help.printer_test"))
    test_parser.add_argument("--force", action="store_true", help=t("cli_help.printer_test_force"))
    test_parser.set_defaults(handler=test)
    commands.add_parser("status", help=t("cli_help.printer_status")).set_defaults(handler=status)
    commands.add_parser("queue", help=t("cli_help.printer_queue")).set_defaults(handler=queue)


def _usage(parser: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return handler


def _messages(ctx: CliContext) -> Messages:
    """The catalogue in the configured language (loads the configuration)."""
    from counter_app.i18n import Messages

    return Messages(ctx.config.language)


def _connection(ctx: CliContext, messages: Messages) -> PrinterConnection | None:
    """The configured connection, or None after saying what is wrong with the setting."""
    from counter_app.services.printing import connection_for

    try:
        return connection_for(ctx.config)
    except ValueError as exc:
        print(messages.t("cli_printer.bad_setting", error=exc), file=ctx.err)
        return None


# Where the bytes go, per connection kind: the catalogue key and the connection's
# attributes it names. A kind not listed here (or an attribute it lacks) is shown as
# the driver describes it, in English.
_WHERE: dict[str, tuple[str, tuple[str, ...]]] = {
    "network": ("cli_printer.where_network", ("address",)),
    "serial": ("cli_printer.where_serial", ("port", "baudrate")),
    "file": ("cli_printer.where_file", ("path",)),
    "preview": ("cli_printer.where_preview", ("path",)),
    "usb": ("cli_printer.where_usb", ("ids",)),
}


def describe_connection(connection: PrinterConnection, messages: Messages) -> str:
    """Where ``connection`` sends its bytes, in the words of ``messages``."""
    if connection.kind == "cups":
        queue_name = getattr(connection, "queue", "")
        if queue_name:
            return messages.t("cli_printer.where_cups", queue=queue_name)
        return messages.t("cli_printer.where_cups_default")
    key, attributes = _WHERE.get(connection.kind, ("", ()))
    if key and all(hasattr(connection, name) for name in attributes):
        return messages.t(key, **{name: getattr(connection, name) for name in attributes})
    return connection.describe()


def not_ready_words(answer: PrinterStatus, messages: Messages) -> str:
    """Why a printer that answered cannot print, e.g. ``"papier op, klep open"``."""
    from drivers.printer.connection import PaperState

    reasons = []
    if answer.paper is PaperState.OUT:
        reasons.append(messages.t("cli_printer.reason_paper_out"))
    if answer.cover_open:
        reasons.append(messages.t("cli_printer.reason_cover_open"))
    if answer.error:
        reasons.append(messages.t("cli_printer.reason_error"))
    if answer.online is False and not reasons:
        reasons.append(messages.t("cli_printer.reason_offline"))
    return ", ".join(reasons) or messages.t("cli_printer.reason_not_ready")


def test(args: argparse.Namespace, ctx: CliContext) -> int:
    from drivers.printer.connection import PrinterError
    from drivers.printer.documents import render_test_page
    from drivers.printer.preview import PreviewConnection

    config = ctx.config
    messages = _messages(ctx)
    connection = _connection(ctx, messages)
    if connection is None:
        return 2
    try:
        page = render_test_page(config.printer.profile, config.station.name)
    except ValueError as exc:  # an unknown profile in a file written by hand
        print(messages.t("cli_printer.bad_setting", error=exc), file=ctx.err)
        return 2
    try:
        # Ask first, as the counter does before every label: a printer that says it
        # cannot print gets nothing, unless the technician insists.
        printer = connection.status()
        if printer.ready is False and not getattr(args, "force", False):
            print(
                messages.t("cli_printer.test_not_ready", reason=not_ready_words(printer, messages)),
                file=ctx.err,
            )
            return 1
        connection.send(page)
    except PrinterError as exc:
        print(
            messages.t("cli_printer.test_failed", error=failure_words(exc, messages)), file=ctx.err
        )
        return 1
    where = describe_connection(connection, messages)
    if isinstance(connection, PreviewConnection) and connection.last_path is not None:
        where = messages.t("cli_printer.where_preview_file", path=connection.last_path)
    print(
        messages.t(
            "cli_printer.test_sent", where=where, size=len(page), profile=config.printer.profile
        ),
        file=ctx.out,
    )
    return 0


def status(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.services.printing import can_ask_status
    from drivers.printer.connection import PrinterError

    messages = _messages(ctx)
    connection = _connection(ctx, messages)
    if connection is None:
        return 2
    where = describe_connection(connection, messages)
    print(messages.t("cli_printer.printer", where=where), file=ctx.out)
    if not can_ask_status(connection):
        print(messages.t("cli_printer.status_cannot_ask", kind=connection.kind), file=ctx.out)
        return 1
    try:
        answer = connection.status()
    except PrinterError as exc:
        print(
            messages.t("cli_printer.status_unreachable", error=failure_words(exc, messages)),
            file=ctx.out,
        )
        return 1
    if not answer.answered:
        print(messages.t("cli_printer.status_no_answer"), file=ctx.out)
        return 1
    for line in status_words(answer, messages):
        print(line, file=ctx.out)
    return 0 if answer.ready else 1


def status_words(answer: PrinterStatus, messages: Messages) -> list[str]:
    """What the printer said, a line per thing, ending with whether it can print."""
    from drivers.printer.connection import PaperState

    def word(key: str) -> str:
        return messages.t(f"cli_printer.{key}")

    def said(value: bool | None, yes: str, no: str) -> str:
        return word("not_reported") if value is None else word(yes) if value else word(no)

    paper = {
        PaperState.OK: "paper_ok",
        PaperState.NEAR_END: "paper_near_end",
        PaperState.OUT: "paper_out",
        PaperState.UNKNOWN: "not_reported",
    }[answer.paper]
    return [
        messages.t("cli_printer.line_online", value=said(answer.online, "online", "offline")),
        messages.t("cli_printer.line_cover", value=said(answer.cover_open, "open", "closed")),
        messages.t("cli_printer.line_paper", value=word(paper)),
        messages.t("cli_printer.line_error", value=said(answer.error, "error_yes", "error_no")),
        messages.t("cli_printer.line_ready", value=word("yes" if answer.ready else "no")),
    ]


def queue(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.services.labels import COPY_MARKER_KEYS
    from db.domain import STATION_TZ
    from db.engine import DatabaseError, DatabaseMissing, open_database
    from db.printjobs import pending_print_jobs

    messages = _messages(ctx)
    path = ctx.config.database_path()
    try:
        engine = open_database(path, create=False)
    except DatabaseMissing:
        print(messages.t("cli_printer.no_database", path=path), file=ctx.err)
        return 1
    except DatabaseError as exc:
        print(
            messages.t("cli_printer.database_unavailable", error=failure_words(exc, messages)),
            file=ctx.err,
        )
        return 1
    try:
        jobs = pending_print_jobs(engine, ctx.config.station.id)
    except DatabaseError as exc:
        print(
            messages.t("cli_printer.database_unavailable", error=failure_words(exc, messages)),
            file=ctx.err,
        )
        return 1
    finally:
        engine.dispose()
    if not jobs:
        print(messages.t("cli_printer.queue_empty"), file=ctx.out)
        return 0
    key = "cli_printer.queue_waiting_one" if len(jobs) == 1 else "cli_printer.queue_waiting"
    print(messages.t(key, count=len(jobs)), file=ctx.out)

    def word(key: str, fallback: str) -> str:
        return messages.t(key) if key in messages else fallback

    for job in jobs:
        queued = job.created_at.astimezone(STATION_TZ).strftime("%Y-%m-%d %H:%M:%S")
        parts = [
            queued,
            job.label_code or "-",
            word(f"print_queue.documents.{job.document}", job.document),
            word(f"print_queue.statuses.{job.status}", job.status),
            messages.t("cli_printer.queue_attempts", count=job.attempts),
        ]
        if job.copy_marker:
            parts.append(word(COPY_MARKER_KEYS.get(job.copy_marker, ""), job.copy_marker))
        line = "  ".join(parts)
        if job.last_error:
            line += "  " + messages.t("cli_printer.queue_last_error", error=job.last_error)
        print(line, file=ctx.out)
    return 0

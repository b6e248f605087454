"""``counter db check``: the database file alone, every page, index and reference.

Opening a database checks only what it must (its header and schema revision, without a
scan and without the write lock), so a counter with a year of records starts at once.
The full check of the file is here (and in ``counter verify --full``): SQLite's
``integrity_check`` and ``foreign_key_check``, read-only, beside a running counter.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from counter_app.cli.database import messages_for, open_for_reading, run_command
from counter_app.cli.verify import print_file_check

if TYPE_CHECKING:
    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    database = subparsers.add_parser(
        "db", help=t("cli_help.db"), description=t("cli_help.db_description")
    )
    database.set_defaults(handler=_usage(database))
    commands = database.add_subparsers(title=t("cli_help.db_commands"), metavar="COMMAND")
    check = commands.add_parser("check", help=t("cli_help.db_check"))
    check.set_defaults(handler=_check)


def _usage(parser: argparse.ArgumentParser) -> Any:
    def show_usage(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return show_usage


def _check(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.engine import check_file

        messages = messages_for(ctx)
        with open_for_reading(ctx, messages) as engine:
            physical = check_file(engine, full=True)
        print_file_check(physical, ctx, messages)
        return 0 if physical.ok else 1

    return run_command(ctx, body)

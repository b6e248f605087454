"""``counter config check | show | path``: find and check the configuration file.

These commands are for the technician who sets up the counter; like the problems
they report, they speak English.
"""

from __future__ import annotations

import argparse
from typing import Any

from counter_app.cli.context import CliContext
from counter_app.config_file import ConfigError, config_path_candidate
from counter_app.i18n import Messages


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    parser = subparsers.add_parser("config", help=t("cli_help.config"))
    parser.set_defaults(handler=_usage(parser))
    commands = parser.add_subparsers(title=t("cli_help.config_commands"), metavar="COMMAND")
    commands.add_parser("check", help=t("cli_help.config_check")).set_defaults(handler=check)
    commands.add_parser("show", help=t("cli_help.config_show")).set_defaults(handler=show)
    commands.add_parser("path", help=t("cli_help.config_path")).set_defaults(handler=path)


def _usage(parser: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return handler


def check(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        config = ctx.config
    except ConfigError as exc:
        print(str(exc), file=ctx.err)
        return 2
    if config.source is None:
        print("OK: no configuration file; demo defaults", file=ctx.out)
    else:
        print(f"OK: {config.source}", file=ctx.out)
    return 0


def show(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        config = ctx.config
    except ConfigError as exc:
        print(str(exc), file=ctx.err)
        return 2
    from counter_app.config import config_to_toml

    ctx.out.write(config_to_toml(config))
    return 0


def path(args: argparse.Namespace, ctx: CliContext) -> int:
    """The path on the first line (for scripts), what it means on the second."""
    file, origin = config_path_candidate(ctx.config_arg)
    source = {
        "--config": "given with --config",
        "COUNTER_CONFIG": "given in $COUNTER_CONFIG",
        "default": "default location",
    }[origin]
    print(file, file=ctx.out)
    if file.is_file():
        print(f"{source}; exists", file=ctx.out)
        return 0
    if origin == "default":
        print(f"{source}; does not exist, so the counter runs on demo defaults", file=ctx.out)
        return 0
    print(f"{source}; does not exist (the counter will not start)", file=ctx.out)
    return 1

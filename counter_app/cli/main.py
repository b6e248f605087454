"""The ``counter`` command line: the parser and ``main``.

Every command group lives in its own module of this package that exposes
``register(subparsers)``;
each parser sets ``handler=function(args, ctx) -> int``. The handler gets a
:class:`CliContext` that loads the configuration on first use, so commands that do
not need it (``scale decode``) never fail on a bad config file.

An exception no command handles ends the process with a crash report and a
non-zero status (see :mod:`counter_app.crash`), never with a bare traceback or 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from counter_app.cli.argparse_words import argparse_language, config_argument, speaking
from counter_app.cli.context import CliContext
from counter_app.i18n import Messages


def build_parser(messages: Messages) -> argparse.ArgumentParser:
    """The parser, its descriptions and help in ``messages``' language (argparse's own
    words come from :func:`speaking`)."""
    from counter_app.cli import (
        app,
        config,
        corrections,
        db,
        export,
        printer,
        scale,
        totals,
        verify,
    )

    t = messages.t
    parser = argparse.ArgumentParser(prog="counter", description=t("cli_help.description"))
    parser.add_argument("--config", metavar="FILE", help=t("cli_help.config_option"))
    # argparse 3.11 does not pass this sentence through gettext: given here.
    parser.add_argument("--version", action=_VersionAction, help=t("argparse.version"))
    parser.set_defaults(handler=app.run)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (config, scale, printer, export, totals, verify, corrections, db):
        module.register(sub, messages)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: the installed version is looked up (package metadata) only when
    asked for, not each time the parser is built."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from counter_app.version import installed_version

        print(f"counter {installed_version()}", file=sys.stdout)
        parser.exit()


def _hoist_config(argv: Sequence[str]) -> list[str]:
    """Let ``--config FILE`` stand anywhere, also after the sub-command."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            return [arg, args[i + 1], *args[:i], *args[i + 2 :]]
        if arg.startswith("--config="):
            return [arg, *args[:i], *args[i + 1 :]]
        if arg == "--":
            break
    return args


#: python-escpos's folder for the pickle of its printer database
#: (drivers/printer/capabilities_cache.py); named before drivers.printer is loaded.
ESCPOS_PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _name_printer_cache() -> None:
    """The counter's cache folder for python-escpos's printer database, unless one is
    named already: without it every process that prints parses the database again."""
    import platformdirs

    from counter_app.config_file import APP_NAME

    folder = Path(platformdirs.user_cache_dir(APP_NAME)) / "escpos"
    os.environ.setdefault(ESCPOS_PICKLE_DIR, str(folder))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    ctx: CliContext | None = None
    try:
        if argv is None:
            # As the program only: a caller in this process keeps its environment.
            _name_printer_cache()
        from counter_app.config_file import ConfigError

        hoisted = _hoist_config(arguments)
        # argparse's own words (usage, errors, the help a command group prints when no
        # command is given) in the language of the config the command will use.
        # Our own help texts too: the parser is built in that language.
        language = argparse_language(config_argument(hoisted))
        messages = Messages(language)
        with speaking(messages):
            args = build_parser(messages).parse_args(hoisted)
        ctx = CliContext(config_arg=args.config)
        try:
            with speaking(messages):
                result: int = args.handler(args, ctx)
        except ConfigError as exc:
            print(str(exc), file=ctx.err)
            return 2
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            # `counter scale decode ... | head`: the reader left; that is not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        return result
    except Exception as error:
        from counter_app.crash import report_crash

        return report_crash(
            error,
            arguments,
            config=None if ctx is None else ctx._config,
            config_arg=None if ctx is None else ctx.config_arg,
            err=None if ctx is None else ctx.err,
        )


if __name__ == "__main__":
    sys.exit(main())

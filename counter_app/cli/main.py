"""The ``counter`` command line (DESIGN.md section 4).

Every sub-command lives in its own module that exposes ``register(subparsers)``;
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from counter_app.config import Config


@dataclass
class CliContext:
    config_arg: str | None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _config: Config | None = None

    @property
    def config(self) -> Config:
        """The loaded configuration; raises ``ConfigError`` with a readable message."""
        if self._config is None:
            from counter_app.config import load_config

            self._config = load_config(self.config_arg)
        return self._config


def build_parser() -> argparse.ArgumentParser:
    from counter_app import cli_config, cli_data, cli_printer, cli_scale

    parser = argparse.ArgumentParser(
        prog="counter",
        description="Weighbridge counter for the milieustraat: weigh, classify, label, record.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $COUNTER_CONFIG, then the user config directory)",
    )
    parser.set_defaults(handler=_run_app)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (cli_config, cli_scale, cli_printer, cli_data):
        module.register(sub)
    return parser


def _run_app(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.services.station_lock import hold_for_counter
    from db.engine import make_private_dir

    config = ctx.config
    # The data directory holds the records, labels and crash reports: owner-only.
    make_private_dir(config.data_dir())
    # One counter per station per database: a second one stops here, with a message
    # naming the one that runs, before the screen or the database is touched.
    lock = hold_for_counter(config, ctx.err)
    if lock is None:
        return 2
    from counter_app.ui.app import run_counter

    with lock:
        return run_counter(config)


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


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    ctx: CliContext | None = None
    try:
        from counter_app.config import ConfigError

        parser = build_parser()
        args = parser.parse_args(_hoist_config(arguments))
        ctx = CliContext(config_arg=args.config)
        try:
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

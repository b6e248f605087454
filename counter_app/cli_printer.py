"""``counter printer test | status`` (placeholder until the printer service exists)."""

from __future__ import annotations

import argparse
from typing import Any

from counter_app.cli import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("printer", help="print a test page or show printer status")
    parser.set_defaults(handler=_not_available)
    commands = parser.add_subparsers(title="printer commands", metavar="COMMAND")
    commands.add_parser("test", help="print a test label").set_defaults(handler=_not_available)
    commands.add_parser("status", help="ask the printer how it is").set_defaults(
        handler=_not_available
    )


def _not_available(args: argparse.Namespace, ctx: CliContext) -> int:
    print("not available yet", file=ctx.err)
    return 1

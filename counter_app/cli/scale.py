"""``counter scale ports | decode | monitor | simulate``: the technician's scale tools.

These commands speak English: they are for the person who wires the indicator, and
their output goes into support tickets and forum posts. ``ports`` speaks the
configured language: it is also the first thing a site checks when the counter
finds no scale. Each command has its module:
:mod:`.scale_decode`, :mod:`.scale_monitor`, :mod:`.scale_simulate`; ``ports`` is here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from counter_app.cli import scale_decode, scale_monitor, scale_simulate
from counter_app.cli.context import CliContext
from counter_app.cli.scale_protocols import (
    add_option_argument,
    add_protocol_argument,
)

if TYPE_CHECKING:
    from counter_app.i18n import Messages
    from drivers.scale.ports import PortInfo


def register(subparsers: Any) -> None:
    scale = subparsers.add_parser(
        "scale",
        help="scale indicator tools: ports, decode, monitor, simulate",
        description="Tools for connecting and checking the scale indicator.",
    )
    scale.set_defaults(handler=_usage_handler(scale))
    commands = scale.add_subparsers(title="scale commands", metavar="COMMAND")

    ports = commands.add_parser("ports", help="list the serial ports of this computer")
    ports.set_defaults(handler=run_ports)

    decode = commands.add_parser(
        "decode",
        help="decode raw indicator bytes into one JSON object per frame",
        description="Read raw indicator bytes from standard input (or --file) and print "
        "one JSON object per frame, one per line.",
    )
    add_protocol_argument(decode, required=True)
    decode.add_argument("--file", metavar="F", help="read the bytes from this file")
    decode.add_argument(
        "--capacity-kg",
        metavar="KG",
        help="the most the scale can weigh; a larger weight is an error frame (default 100000)",
    )
    add_option_argument(decode)
    decode.set_defaults(handler=scale_decode.run)

    monitor = commands.add_parser(
        "monitor",
        help="show live raw bytes and decoded readings from the indicator",
        description="Open the indicator's port and show the raw bytes (hex and text), "
        "the decoded readings, frames per second and errors, until Ctrl-C. Settings not "
        "given here come from the configuration's [scale] table.",
    )
    monitor.add_argument("--port", metavar="P", help='serial port or URL; "sim" = simulator')
    add_protocol_argument(monitor, required=False)
    monitor.add_argument("--baudrate", metavar="N", type=int, help="line speed in bit/s")
    add_option_argument(monitor)
    monitor.add_argument(
        "--log", metavar="FILE", help="append the raw byte stream with timestamps to FILE"
    )
    monitor.add_argument(
        "--duration", metavar="SECONDS", type=float, help="stop after this many seconds"
    )
    monitor.set_defaults(handler=scale_monitor.run)

    simulate = commands.add_parser(
        "simulate",
        help="run a virtual indicator on a pseudo-terminal",
        description="Run a virtual indicator on a pseudo-terminal and print the port to "
        "open. Then read commands from standard input (type 'help').",
    )
    add_protocol_argument(simulate, required=True)
    simulate.add_argument(
        "--link", metavar="PATH", help="also make a symbolic link to the port at PATH"
    )
    simulate.add_argument(
        "--weight", metavar="KG", default="0.00", help="starting weight (default 0.00)"
    )
    simulate.add_argument(
        "--rate", metavar="HZ", type=float, default=10.0, help="frames a second (default 10)"
    )
    add_option_argument(simulate)
    simulate.set_defaults(handler=scale_simulate.run)


def _usage_handler(parser: argparse.ArgumentParser) -> Any:
    def show_usage(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return show_usage


# -- counter scale ports ---------------------------------------------------------------


def run_ports(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.cli.argparse_words import argparse_language
    from counter_app.i18n import Messages
    from drivers.scale.ports import list_ports

    # The configured language, read leniently: with a broken configuration file the
    # technician still sees which ports there are.
    messages = Messages(argparse_language(ctx.config_arg))
    for line in ports_listing(list_ports(), messages):
        print(line, file=ctx.out)
    return 0


def ports_listing(ports: Sequence[PortInfo], messages: Messages) -> list[str]:
    """What ``counter scale ports`` prints: a header and one line per port, in columns;
    or, when there is no port at all, a sentence that says so and what to check."""
    t = messages.t
    if not ports:
        return [t("cli_scale.no_ports")]
    rows = [
        (t("cli_scale.port"), t("cli_scale.description"), t("cli_scale.hardware_id")),
        *((port.device, port.description, port.hwid) for port in ports),
    ]
    device_width = max(len(row[0]) for row in rows)
    description_width = max(len(row[1]) for row in rows)
    return [
        f"{device.ljust(device_width)}  {description.ljust(description_width)}  {hwid}".rstrip()
        for device, description, hwid in rows
    ]

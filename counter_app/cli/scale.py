"""``counter scale ports | decode | monitor | simulate``: the technician's scale tools.

What these commands print speaks English: it is for the person who wires the indicator
and goes into support tickets and forum posts. ``ports`` speaks the configured
language: it is also the first thing a site checks when the counter finds no scale.
Their --help follows the configured language, as every command's does. Each command
has its module:
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
from counter_app.i18n import Messages

if TYPE_CHECKING:
    from counter_app.i18n import Messages
    from drivers.scale.ports import PortInfo


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    scale = subparsers.add_parser(
        "scale", help=t("cli_help.scale"), description=t("cli_help.scale_description")
    )
    scale.set_defaults(handler=_usage_handler(scale))
    commands = scale.add_subparsers(title=t("cli_help.scale_commands"), metavar="COMMAND")

    ports = commands.add_parser("ports", help=t("cli_help.scale_ports"))
    ports.set_defaults(handler=run_ports)

    decode = commands.add_parser(
        "decode",
        help=t("cli_help.scale_decode"),
        description=t("cli_help.scale_decode_description"),
    )
    add_protocol_argument(decode, messages, required=True)
    decode.add_argument("--file", metavar="F", help=t("cli_help.scale_file"))
    decode.add_argument("--capacity-kg", metavar="KG", help=t("cli_help.scale_capacity"))
    add_option_argument(decode, messages)
    decode.set_defaults(handler=scale_decode.run)

    monitor = commands.add_parser(
        "monitor",
        help=t("cli_help.scale_monitor"),
        description=t("cli_help.scale_monitor_description"),
    )
    monitor.add_argument("--port", metavar="P", help=t("cli_help.scale_port"))
    add_protocol_argument(monitor, messages, required=False)
    monitor.add_argument("--baudrate", metavar="N", type=int, help=t("cli_help.scale_baudrate"))
    add_option_argument(monitor, messages)
    monitor.add_argument("--log", metavar="FILE", help=t("cli_help.scale_log"))
    monitor.add_argument(
        "--duration", metavar="SECONDS", type=float, help=t("cli_help.scale_duration")
    )
    monitor.set_defaults(handler=scale_monitor.run)

    simulate = commands.add_parser(
        "simulate",
        help=t("cli_help.scale_simulate"),
        description=t("cli_help.scale_simulate_description"),
    )
    add_protocol_argument(simulate, messages, required=True)
    simulate.add_argument("--link", metavar="PATH", help=t("cli_help.scale_link"))
    simulate.add_argument("--weight", metavar="KG", default="0.00", help=t("cli_help.scale_weight"))
    simulate.add_argument(
        "--rate", metavar="HZ", type=float, default=10.0, help=t("cli_help.scale_rate")
    )
    add_option_argument(simulate, messages)
    simulate.set_defaults(handler=scale_simulate.run)


def _usage_handler(parser: argparse.ArgumentParser) -> Any:
    def show_usage(args: argparse.Namespace, ctx: CliContext) -> int:
        parser.print_help(ctx.err)
        return 2

    return show_usage


# -- counter scale ports ---------------------------------------------------------------


def run_ports(args: argparse.Namespace, ctx: CliContext) -> int:
    from counter_app.cli.argparse_words import argparse_language
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

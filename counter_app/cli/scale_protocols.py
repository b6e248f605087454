"""What the scale commands share: choosing a protocol and its options by name, and
saying a wrong argument in one line (exit status 2)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from decimal import Decimal

from counter_app.cli.context import CliContext
from counter_app.i18n import Messages
from drivers.scale.protocol import IndicatorEmulator, ProtocolOptionError, ScaleProtocol
from drivers.scale.registry import (
    PROTOCOL_NAMES,
    UnknownProtocolError,
    make_emulator,
    make_protocol,
)

PROTOCOL_LIST = ", ".join(PROTOCOL_NAMES)


class CliProblem(Exception):
    """A wrong argument, said in one line; the command exits with status 2."""


def add_protocol_argument(
    parser: argparse.ArgumentParser, messages: Messages, *, required: bool
) -> None:
    parser.add_argument(
        "--protocol",
        metavar="NAME",
        required=required,
        help=messages.t("cli_help.scale_protocol", protocols=PROTOCOL_LIST),
    )


def add_option_argument(parser: argparse.ArgumentParser, messages: Messages) -> None:
    parser.add_argument(
        "--option",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help=messages.t("cli_help.scale_option"),
    )


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``["unit=kg", "address=01"]`` -> ``{"unit": "kg", "address": "01"}``."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliProblem(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def missing_module(name: str, exc: ModuleNotFoundError) -> CliProblem:
    return CliProblem(
        f"scale protocol {name!r} is not available in this installation "
        f"(module {exc.name} is missing)"
    )


def build_protocol(
    name: str, options: Mapping[str, str], capacity_kg: Decimal | None = None
) -> ScaleProtocol:
    try:
        return make_protocol(name, options, capacity_kg=capacity_kg)
    except UnknownProtocolError as exc:
        raise CliProblem(str(exc)) from None
    except ProtocolOptionError as exc:
        raise CliProblem(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise missing_module(name, exc) from None


def build_emulator(name: str, options: Mapping[str, str]) -> IndicatorEmulator:
    try:
        emulator = make_emulator(name, options)
    except UnknownProtocolError as exc:
        raise CliProblem(str(exc)) from None
    except ProtocolOptionError as exc:
        raise CliProblem(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise missing_module(name, exc) from None
    unknown = sorted(set(options) - set(emulator.options_help))
    if unknown:
        known = ", ".join(sorted(emulator.options_help)) or "none"
        raise CliProblem(f"the {name!r} simulator has no option {unknown[0]!r} (options: {known})")
    return emulator


def say_problem(ctx: CliContext, problem: CliProblem) -> int:
    print(f"counter scale: {problem}", file=ctx.err)
    return 2

"""``counter verify``: the database file, every station's hash chain, and anchors."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from counter_app.cli.database import (
    UsageError,
    counted,
    messages_for,
    open_for_reading,
    run_command,
)
from counter_app.services.failures import failure_words

if TYPE_CHECKING:
    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    verify = subparsers.add_parser(
        "verify", help=t("cli_help.verify"), description=t("cli_help.verify_description")
    )
    verify.add_argument("--full", action="store_true", help=t("cli_help.verify_full"))
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="HASH",
        help=t("cli_help.verify_anchor"),
    )
    verify.set_defaults(handler=_verify)


# -- verify ----------------------------------------------------------------------------


def _verify(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.chain import Anchor, AnchorError
        from db.engine import DatabaseError, check_file
        from db.verify import verify_chain

        messages = messages_for(ctx)
        try:
            anchors = [Anchor.parse(text) for text in args.anchor]
        except AnchorError:
            raise UsageError(messages.t("cli_verify.not_an_anchor")) from None
        with open_for_reading(ctx, messages) as engine:
            physical = check_file(engine, full=args.full)
            print_file_check(physical, ctx, messages)
            try:
                report = verify_chain(engine, anchors)
            except DatabaseError as exc:
                print(
                    messages.t("cli_verify.chain_unreadable", error=failure_words(exc, messages)),
                    file=ctx.out,
                )
                return 1
        _print_chain_report(report, ctx, messages)
        return 0 if physical.ok and report.ok else 1

    return run_command(ctx, body)


def print_file_check(physical: Any, ctx: CliContext, messages: Messages) -> None:
    kind = messages.t("cli_verify.full_check" if physical.full else "cli_verify.quick_check")
    if physical.ok:
        print(messages.t("cli_verify.file_ok", kind=kind), file=ctx.out)
        return
    print(messages.t("cli_verify.file_damaged", kind=kind), file=ctx.out)
    for problem in physical.problems:
        print(f"  {problem}", file=ctx.out)


def _print_chain_report(report: Any, ctx: CliContext, messages: Messages) -> None:
    if report.ok:
        print(counted(messages, "cli_verify.ok", report.count), file=ctx.out)
    else:
        print(
            messages.t("cli_verify.broken", problem=chain_problem_words(report.issue, messages)),
            file=ctx.out,
        )
        if report.first_broken_id is not None:
            print(messages.t("cli_verify.first_broken", id=report.first_broken_id), file=ctx.out)
        print(counted(messages, "cli_verify.checked", report.count), file=ctx.out)
    for anchor in report.anchors:
        if report.ok:
            print(messages.t("cli_verify.anchor_held", anchor=anchor.text()), file=ctx.out)
    for head in report.heads:
        print(
            messages.t("cli_verify.head", station=head.station_id, anchor=head.text()),
            file=ctx.out,
        )
    if report.heads:
        print(messages.t("cli_verify.keep_anchor"), file=ctx.out)


def chain_problem_words(issue: Any, messages: Messages) -> str:
    """A ``db.verify.ChainProblem`` in the configured language."""
    facts = dict(issue.facts)
    kind = facts.get("kind")
    if kind is not None:
        facts["row"] = messages.t(f"cli_verify.row_{kind}", **facts)
    return messages.t(f"cli_verify.problem_{issue.code}", **facts)

"""``counter verify``: the database file, every station's hash chain, and anchors."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
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
    verify.add_argument(
        "--since-last",
        action="store_true",
        help=t("cli_help.verify_since_last"),
    )
    verify.set_defaults(handler=_verify)


# -- verify ----------------------------------------------------------------------------


def _verify(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.chain import Anchor, AnchorError
        from db.engine import DatabaseError, check_file, database_path
        from db.verify import verified_file, verify_chain, write_verified

        messages = messages_for(ctx)
        try:
            anchors = [Anchor.parse(text) for text in args.anchor]
        except AnchorError:
            raise UsageError(messages.t("cli_verify.not_an_anchor")) from None
        with open_for_reading(ctx, messages) as engine:
            record = verified_file(database_path(engine))
            report = None
            if args.since_last and not args.full:
                report = _since_last(engine, anchors, record, ctx, messages)
            if report is None:
                # Everything: the file, then every link from each station's start.
                physical = check_file(engine, full=args.full)
                print_file_check(physical, ctx, messages)
                file_ok = physical.ok
                try:
                    report = verify_chain(engine, anchors)
                except DatabaseError as exc:
                    print(
                        messages.t(
                            "cli_verify.chain_unreadable", error=failure_words(exc, messages)
                        ),
                        file=ctx.out,
                    )
                    return 1
            else:
                file_ok = True
        _print_chain_report(report, ctx, messages)
        if file_ok and report.ok and report.heads:
            # The starting point of the next --since-last; a folder that cannot be
            # written (an archived copy) only means the next one walks everything.
            with contextlib.suppress(OSError):
                write_verified(record, report.heads)
        return 0 if file_ok and report.ok else 1

    return run_command(ctx, body)


def _since_last(
    engine: Any, anchors: list[Any], record: Path, ctx: CliContext, messages: Messages
) -> Any:
    """The report of a walk from the last verified anchors, or ``None`` (said why)
    when they cannot be used and everything is to be walked."""
    from db.engine import DatabaseError
    from db.verify import (
        SinceLastMismatch,
        VerifiedFileUnreadable,
        read_verified,
        verify_chain,
    )

    try:
        since = read_verified(record)
    except FileNotFoundError:
        print(messages.t("cli_verify.since_last_missing", file=record), file=ctx.out)
        return None
    except (OSError, VerifiedFileUnreadable):
        print(messages.t("cli_verify.since_last_unreadable", file=record), file=ctx.out)
        return None
    try:
        report = verify_chain(engine, anchors, since=since)
    except SinceLastMismatch as exc:
        print(
            messages.t("cli_verify.since_last_mismatch", anchor=exc.anchor.text()),
            file=ctx.out,
        )
        return None
    except DatabaseError:
        return None  # the whole check says what is wrong with the file
    print(messages.t("cli_verify.since_last_only", file=record), file=ctx.out)
    return report


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

"""``counter void`` and ``counter correct``: the supervisor's voids and corrections.

They follow the counter's own rules (``counter_app.services.corrections``) and write to
the configured database beside a running counter (each in one transaction that waits
for the counter's write lock). A correction's label is queued for the printer of the
station that recorded the original; its counter prints it, marked GECORRIGEERD.

Exit codes: 0 done; 1 refused (nothing was recorded: an unknown label, one voided or
corrected already, nothing that changes) or the database could not be used; 2 wrong
arguments (an empty reason, a weight that is not a positive number of kilograms up to
the scale's capacity, an unknown category, neither ``--category`` nor ``--weight``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from counter_app.cli.database import (
    DatabaseUnavailable,
    UsageError,
    messages_for,
    opening_words,
    run_command,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from counter_app.catalogue import CatalogueEntry
    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages
    from counter_app.services.corrections import CorrectionRefused
    from db.queries import RecordedDropOff

#: The role written with a void or correction from the command line (a role, never a
#: person's name, like ``[station] operator``).
SUPERVISOR = "supervisor"

# Refusals that come from the arguments themselves: exit code 2, as argparse's own.
_ARGUMENT_REFUSALS = frozenset(
    {
        "empty_reason",
        "weight_not_a_number",
        "weight_not_positive",
        "weight_too_high",
        "weight_too_fine",
    }
)


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    void = subparsers.add_parser(
        "void", help=t("cli_help.void"), description=t("cli_help.void_description")
    )
    void.add_argument("label", metavar="LABEL", help=t("cli_help.correction_label"))
    void.add_argument("--reason", required=True, metavar="TEXT", help=t("cli_help.reason"))
    void.set_defaults(handler=_void)

    correct = subparsers.add_parser(
        "correct", help=t("cli_help.correct"), description=t("cli_help.correct_description")
    )
    correct.add_argument("label", metavar="LABEL", help=t("cli_help.correction_label"))
    correct.add_argument("--category", metavar="CODE", help=t("cli_help.correct_category"))
    correct.add_argument("--weight", metavar="KG", help=t("cli_help.correct_weight"))
    correct.add_argument("--reason", required=True, metavar="TEXT", help=t("cli_help.reason"))
    correct.set_defaults(handler=_correct)


@contextmanager
def _open_for_writing(ctx: CliContext, messages: Messages) -> Iterator[Engine]:
    """The configured database, opened for writing (never created)."""
    from counter_app.services.failures import failure_words
    from db.engine import DatabaseError, open_database

    path = ctx.config.database_path()
    unwritable = "cli_corrections.database_unwritable"
    with opening_words(messages, path, unwritable):
        engine = open_database(path, create=False)
    try:
        yield engine
    except DatabaseError as exc:
        raise DatabaseUnavailable(
            messages.t(unwritable, error=failure_words(exc, messages))
        ) from exc
    finally:
        engine.dispose()


def _refused(refused: CorrectionRefused, ctx: CliContext, messages: Messages) -> int:
    from counter_app.services.corrections import refusal_words

    words = refusal_words(refused, messages, ctx.config.language)
    if refused.reason.value in _ARGUMENT_REFUSALS:
        raise UsageError(words)
    print(f"counter: {words}", file=ctx.err)
    return 1


def _described(drop_off: RecordedDropOff, ctx: CliContext) -> dict[str, str]:
    from counter_app.i18n import format_kg

    return {
        "label_code": drop_off.label_code,
        "weight": format_kg(drop_off.weight_grams, ctx.config.language),
        "category": drop_off.category_name,
    }


def _void(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from counter_app.services.corrections import CorrectionRefused, CorrectionService

        messages = messages_for(ctx)
        with _open_for_writing(ctx, messages) as engine:
            service = CorrectionService(ctx.config, lambda: engine, operator=SUPERVISOR)
            outcome = service.void(args.label, args.reason)
        if isinstance(outcome, CorrectionRefused):
            return _refused(outcome, ctx, messages)
        print(
            messages.t(
                "cli_corrections.voided",
                reason=outcome.void.reason,
                **_described(outcome.drop_off, ctx),
            ),
            file=ctx.out,
        )
        return 0

    return run_command(ctx, body)


def _correct(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from counter_app.services.corrections import CorrectionRefused, CorrectionService

        messages = messages_for(ctx)
        if args.category is None and args.weight is None:
            raise UsageError(messages.t("cli_corrections.nothing_to_change"))
        entry = None if args.category is None else _category(args.category, messages)
        with _open_for_writing(ctx, messages) as engine:
            service = CorrectionService(ctx.config, lambda: engine, operator=SUPERVISOR)
            outcome = service.correct(
                args.label, reason=args.reason, entry=entry, manual_kg=args.weight
            )
        if isinstance(outcome, CorrectionRefused):
            return _refused(outcome, ctx, messages)
        correction = outcome.correction
        print(
            messages.t(
                "cli_corrections.corrected",
                original=outcome.original.label_code,
                station=correction.station_id,
                **_described(correction, ctx),
            ),
            file=ctx.out,
        )
        return 0

    return run_command(ctx, body)


def _category(text: str, messages: Messages) -> CatalogueEntry:
    """``metaal`` or ``recycling:metaal``: the catalogue entry; a usage error for an
    unknown code or one that several classifications have."""
    from counter_app.catalogue import Classification, load_default_catalogue

    catalogue = load_default_catalogue()
    wanted = text.strip()
    classification, _, code = wanted.rpartition(":")
    classifications = [c for c in Classification if not classification or c == classification]
    found = [
        entry for entry in (catalogue.find(c, code) for c in classifications) if entry is not None
    ]
    if not found:
        raise UsageError(messages.t("cli_corrections.unknown_category", code=wanted))
    if len(found) > 1:
        raise UsageError(
            messages.t(
                "cli_corrections.ambiguous_category",
                code=code,
                classifications=", ".join(entry.classification for entry in found),
                example=f"{found[0].classification}:{code}",
            )
        )
    return found[0]

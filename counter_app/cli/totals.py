"""``counter totals``: kilograms per classification and fraction of one day.

The table speaks the configured language; ``--format json`` is the same bytes in every
language, with kilograms and shares as JSON numbers.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from counter_app.cli.database import (
    messages_for,
    parse_day,
    read_only_snapshot,
    run_command,
)
from db.domain import STATION_TZ, Classification

if TYPE_CHECKING:
    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages
    from db.day_totals import DayTotals


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    totals = subparsers.add_parser("totals", help=t("cli_help.totals"))
    totals.add_argument("--day", metavar="YYYY-MM-DD", help=t("cli_help.totals_day"))
    totals.add_argument("--format", dest="fmt", choices=("table", "json"), default="table")
    totals.set_defaults(handler=_totals)


def _kg(grams: int) -> Decimal:
    """Kilograms for a program (a JSON number ``12.340``), the same in every language."""
    from db.export_values import grams_to_kg

    return grams_to_kg(grams)


def _percent(share: Decimal | None, language: str) -> str:
    """``0.3000`` -> ``"30,0 %"`` (Dutch) or ``"30.0 %"`` (English); ``"-"`` for none."""
    if share is None:
        return "-"
    text = str((share * 100).quantize(Decimal("0.1")))
    return f"{text.replace('.', ',') if language == 'nl' else text} %"


def _circular_share(totals: DayTotals) -> Decimal | None:
    reuse, repair = totals.share(Classification.REUSE), totals.share(Classification.REPAIR)
    if reuse is None or repair is None:
        return None
    return reuse + repair


# -- totals ----------------------------------------------------------------------------


def _totals_json(totals: DayTotals) -> dict[str, Any]:
    return {
        "day": totals.day.isoformat(),
        "total_kg": _kg(totals.total_grams),
        "count": totals.count,
        "voided_count": totals.voided_count,
        "reuse_share": totals.reuse_share,
        "reuse_repair_share": _circular_share(totals),
        "classifications": {
            name: {
                "kg": _kg(grams),
                "count": totals.count_by_classification[name],
                "share": totals.share(name),
            }
            for name, grams in totals.grams_by_classification.items()
        },
        "categories": [
            {
                "classification": c.classification,
                "category_code": c.category_code,
                "category_name": c.category_name,
                "eural_code": c.eural_code,
                "kg": _kg(c.grams),
                "count": c.count,
            }
            for c in totals.categories
        ],
    }


def _table_decimals(totals: DayTotals) -> int:
    """Two decimals, as the counter's screen shows kilograms, or three for every number
    when one of them has a gram that two would hide: a column keeps its commas aligned
    and no gram goes missing from a total."""
    grams = [
        *totals.grams_by_classification.values(),
        *(c.grams for c in totals.categories),
    ]
    return 2 if all(g % 10 == 0 for g in grams) else 3


def _print_totals_table(totals: DayTotals, ctx: CliContext, messages: Messages) -> None:
    from rich.console import Console
    from rich.table import Table

    from counter_app.i18n import format_kg

    language = messages.language
    decimals = _table_decimals(totals)

    def kg(grams: int) -> str:
        # The column header says "kg"; the cells hold the number alone.
        return format_kg(grams, language, decimals=decimals).removesuffix(" kg")

    def classification(name: str) -> str:
        key = f"classification.{name}"
        return messages.t(key) if key in messages else name

    console = Console(file=ctx.out, highlight=False, soft_wrap=False)
    by_class = Table(title=messages.t("cli_totals.title", day=totals.day.isoformat()))
    by_class.add_column(messages.t("cli_totals.classification"))
    by_class.add_column("kg", justify="right")
    by_class.add_column(messages.t("cli_totals.drop_offs"), justify="right")
    by_class.add_column(messages.t("cli_totals.share"), justify="right")
    for name, grams in totals.grams_by_classification.items():
        by_class.add_row(
            classification(name),
            kg(grams),
            str(totals.count_by_classification[name]),
            _percent(totals.share(name), language),
        )
    by_class.add_section()
    by_class.add_row(messages.t("cli_totals.total"), kg(totals.total_grams), str(totals.count), "")
    console.print(by_class)

    if totals.categories:
        by_category = Table(title=messages.t("cli_totals.per_category"))
        by_category.add_column(messages.t("cli_totals.classification"))
        by_category.add_column(messages.t("cli_totals.code"))
        by_category.add_column(messages.t("cli_totals.name"))
        by_category.add_column("EURAL")
        by_category.add_column("kg", justify="right")
        by_category.add_column(messages.t("cli_totals.drop_offs"), justify="right")
        for category in totals.categories:
            by_category.add_row(
                classification(category.classification),
                category.category_code,
                category.category_name,
                category.eural_code or "",
                kg(category.grams),
                str(category.count),
            )
        console.print(by_category)
    console.print(
        messages.t("cli_totals.reuse_share", percent=_percent(totals.reuse_share, language))
    )
    console.print(
        messages.t(
            "cli_totals.reuse_repair_share", percent=_percent(_circular_share(totals), language)
        )
    )
    if totals.voided_count:
        console.print(messages.t("cli_totals.voided", count=totals.voided_count))


def _totals(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        # Through sqlite3 alone: SQLAlchemy would take longer to load than the query
        # takes on a year of records (db.day_totals).
        from db.anchor import read_chain_heads
        from db.day_totals import read_day_totals

        messages = messages_for(ctx)
        day = (
            parse_day(args.day, "--day", messages) if args.day else datetime.now(STATION_TZ).date()
        )
        with read_only_snapshot(ctx, messages) as execute:
            totals = read_day_totals(execute, day, STATION_TZ)
            anchors = read_chain_heads(execute)
        if args.fmt == "json":
            # For programs: the same bytes in every language.
            from db.export_values import json_text

            # Kilograms and shares are JSON numbers with their exact decimals.
            document = {**_totals_json(totals), "chain_anchors": [a.text(64) for a in anchors]}
            ctx.out.write(json_text(document) + "\n")
        else:
            _print_totals_table(totals, ctx, messages)
            for anchor in anchors:
                print(
                    messages.t("cli_verify.head", station=anchor.station_id, anchor=anchor.text()),
                    file=ctx.out,
                )
        return 0

    return run_command(ctx, body)

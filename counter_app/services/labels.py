"""The documents the counter prints, put into words: the item label and the totals slip.

The application formats, the driver prints: every text here comes translated from
the catalogue and every weight formatted by :func:`counter_app.i18n.format_kg`, the
one the screen uses, so the label and the screen agree to the character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from counter_app.i18n import Messages, format_kg
from db.domain import STATION_TZ, Classification, CopyMarker, WeightSource

if TYPE_CHECKING:
    from counter_app.config import Config
    from db.chain import Anchor
    from db.queries import DayTotals, RecordedDropOff
    from drivers.printer.documents import ItemLabel, SlipRow, TotalsSlip

# Database copy markers -> catalogue keys of the words printed on the label.
COPY_MARKER_KEYS: dict[CopyMarker, str] = {
    CopyMarker.REPRINT: "label.reprint",
    CopyMarker.DUPLICATE: "label.duplicate",
}


@dataclass(frozen=True, slots=True)
class PrintedFormats:
    """How dates and times are written on paper in one language."""

    date_format: str
    datetime_format: str


#: By ``config.language``: Dutch writes 03-05-2024 14:05, English 2024-05-03 14:05
#: (ISO 8601 order, which no English reader misreads).
PRINTED_FORMATS: dict[str, PrintedFormats] = {
    "nl": PrintedFormats("%d-%m-%Y", "%d-%m-%Y %H:%M"),
    "en": PrintedFormats("%Y-%m-%d", "%Y-%m-%d %H:%M"),
}


def printed_formats(language: str) -> PrintedFormats:
    """The formats for ``language``; Dutch, the default language, for any other."""
    return PRINTED_FORMATS.get(language, PRINTED_FORMATS["nl"])


def item_label_for(
    drop_off: RecordedDropOff, config: Config, messages: Messages, copy_marker: str | None
) -> ItemLabel:
    """The label of ``drop_off`` in the configured language, with ``copy_marker``
    (``"reprint"``, ``"duplicate"``) printed on top when given."""
    from drivers.printer.documents import ItemLabel

    formats = printed_formats(config.language)
    marker = messages.t(COPY_MARKER_KEYS[CopyMarker(copy_marker)]) if copy_marker else None
    manual = drop_off.weight_source == WeightSource.MANUAL
    return ItemLabel(
        label_code=drop_off.label_code,
        classification_title=messages.t(f"classification.{drop_off.classification}").upper(),
        category=drop_off.category_name,
        eural_code=drop_off.eural_code,
        weight=format_kg(drop_off.weight_grams, config.language),
        recorded_at_local=drop_off.recorded_at.astimezone(STATION_TZ),
        station_name=config.station.name,
        copy_marker=marker,
        weight_caption=messages.t("label.weight"),
        manual=manual,
        manual_caption=messages.t("label.manual") if manual else None,
        datetime_format=formats.datetime_format,
    )


def totals_slip_for(
    totals: DayTotals,
    config: Config,
    messages: Messages,
    *,
    copy_marker: str | None = None,
    printed_at: datetime | None = None,
    anchors: Sequence[Anchor] = (),
) -> TotalsSlip:
    """The day's totals slip: kg per classification, each followed by its categories
    (``· Meubels``; the slip's columns drop leading spaces, so a dot marks them).
    Every line and the total carry their number of drop-offs, in a column before the
    weight; voided drop-offs count nowhere, as they weigh nothing.

    Captions come from the catalogue; category names are stored with each record in
    the language it was recorded in. ``copy_marker`` (``"reprint"``, ``"duplicate"``)
    goes in front of the title. ``anchors`` (each station's newest chain link when the
    slip is printed) go under the total in short form: kept on paper, they let
    ``counter verify --anchor`` prove later that the day's records were not changed.
    """
    from drivers.printer.documents import TotalsSlip

    t = messages.t
    language = config.language
    formats = printed_formats(language)
    rows: list[SlipRow] = []
    for classification in Classification:
        grams = totals.grams_by_classification.get(classification, 0)
        count = totals.count_by_classification.get(classification, 0)
        title = t(f"classification.{classification}").upper()
        rows.append((title, count, format_kg(grams, language)))
        for category in totals.categories:
            if category.classification == classification:
                rows.append(
                    (
                        f"· {category.category_name}",
                        category.count,
                        format_kg(category.grams, language),
                    )
                )
    title = t("slip.title")
    if copy_marker:
        title = f"{t(COPY_MARKER_KEYS[CopyMarker(copy_marker)])} {title}"
    return TotalsSlip(
        day=totals.day,
        station_name=config.station.name,
        title=title,
        rows=rows,
        grand_total_caption=t("slip.total"),
        grand_total=format_kg(totals.total_grams, language),
        grand_count=totals.count,
        count_caption=t("slip.count"),
        weight_caption=t("slip.weight"),
        printed_at_local=(printed_at or datetime.now(STATION_TZ)).astimezone(STATION_TZ),
        date_format=formats.date_format,
        datetime_format=formats.datetime_format,
        footer_lines=[t("slip.anchor", anchor=anchor.text()) for anchor in anchors],
    )

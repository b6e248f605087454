"""From a recorded drop-off to the item label the printer renders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from counter_app.i18n import Messages

if TYPE_CHECKING:
    from counter_app.config import Config
    from db.records import RecordedDropOff
    from drivers.printer.documents import ItemLabel

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")

# Database copy markers -> catalogue keys of the words printed on the label.
COPY_MARKER_KEYS = {"reprint": "label.reprint", "duplicate": "label.duplicate"}


@dataclass(frozen=True, slots=True)
class PrintedFormats:
    """How numbers and times are written on paper in one language."""

    decimal_comma: bool  # "12,34 kg" (True) or "12.34 kg"
    date_format: str
    datetime_format: str


#: By ``config.language``: Dutch writes 12,34 kg and 03-05-2024 14:05, English
#: 12.34 kg and 2024-05-03 14:05 (ISO 8601 order, which no English reader misreads).
PRINTED_FORMATS: dict[str, PrintedFormats] = {
    "nl": PrintedFormats(True, "%d-%m-%Y", "%d-%m-%Y %H:%M"),
    "en": PrintedFormats(False, "%Y-%m-%d", "%Y-%m-%d %H:%M"),
}


def printed_formats(language: str) -> PrintedFormats:
    """The formats for ``language``; Dutch, the default language, for any other."""
    return PRINTED_FORMATS.get(language, PRINTED_FORMATS["nl"])


def kilograms(grams: int) -> Decimal:
    """Integer grams as kilograms for print, without a float, with the screen's decimals:
    two when they say it all (12340 g -> 12.34), three when a gram would be lost."""
    kg = Decimal(grams).scaleb(-3)
    return kg.quantize(Decimal("0.01")) if grams % 10 == 0 else kg


def item_label_for(
    drop_off: RecordedDropOff, config: Config, messages: Messages, copy_marker: str | None
) -> ItemLabel:
    """The label of ``drop_off`` in the configured language, with ``copy_marker``
    (``"reprint"``, ``"duplicate"``) printed on top when given."""
    from drivers.printer.documents import ItemLabel

    formats = printed_formats(config.language)
    marker = messages.t(COPY_MARKER_KEYS[copy_marker]) if copy_marker else None
    manual = drop_off.weight_source == "manual"
    return ItemLabel(
        label_code=drop_off.label_code,
        classification_title=messages.t(f"classification.{drop_off.classification}").upper(),
        category=drop_off.category_name,
        eural_code=drop_off.eural_code,
        # Integer grams to kilograms without a float, trailing zeros dropped by the
        # division (12340 g -> Decimal("12.34"), printed "12,34 kg").
        weight_kg=kilograms(drop_off.weight_grams),
        recorded_at_local=drop_off.recorded_at.astimezone(LOCAL_TZ),
        station_name=config.station.name,
        copy_marker=marker,
        weight_caption=messages.t("label.weight"),
        manual=manual,
        manual_caption=messages.t("label.manual") if manual else None,
        decimal_comma=formats.decimal_comma,
        datetime_format=formats.datetime_format,
    )

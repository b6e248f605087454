"""From a recorded drop-off to the item label the printer renders."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from counter_app.i18n import Messages

if TYPE_CHECKING:
    from counter_app.config import Config
    from drivers.printer.documents import ItemLabel

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")

# Database copy markers -> catalogue keys of the words printed on the label.
COPY_MARKER_KEYS = {"reprint": "label.reprint", "duplicate": "label.duplicate"}


def item_label_for(drop_off, config: Config, messages: Messages, copy_marker: str | None):  # type: ignore[no-untyped-def]
    from drivers.printer.documents import ItemLabel

    marker = messages.t(COPY_MARKER_KEYS[copy_marker]) if copy_marker else None
    label: ItemLabel = ItemLabel(
        label_code=drop_off.label_code,
        classification_title=messages.t(f"classification.{drop_off.classification}").upper(),
        category=drop_off.category_name,
        eural_code=drop_off.eural_code,
        weight_kg=Decimal(drop_off.weight_grams) / 1000,
        recorded_at_local=drop_off.recorded_at.astimezone(LOCAL_TZ),
        station_name=config.station.name,
        copy_marker=marker,
        weight_caption=messages.t("label.weight"),
        manual=drop_off.weight_source == "manual",
        manual_caption=messages.t("label.manual") if drop_off.weight_source == "manual" else None,
    )
    return label

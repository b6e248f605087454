"""The counter screen's widgets. They show what they are given; they fetch nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Digits, Static

from counter_app.catalogue import CLASSIFICATIONS, Classification
from counter_app.i18n import STATION_TZ, Messages, format_kg
from counter_app.services.scale import ScaleSnapshot, ScaleState
from counter_app.ui.bigdigits import BigWeight

STATE_KEYS = {
    ScaleState.CONNECTING: "scale.connecting",
    ScaleState.STABLE: "scale.stable",
    ScaleState.MOTION: "scale.motion",
    ScaleState.OVERLOAD: "scale.overload",
    ScaleState.UNDERLOAD: "scale.underload",
    ScaleState.NO_SIGNAL: "scale.no_signal",
    ScaleState.NO_WEIGHT: "scale.no_weight",
    ScaleState.OFFLINE: "scale.offline",
}

#: States in which the big display shows the indicator's number.
SHOWS_WEIGHT = frozenset({ScaleState.STABLE, ScaleState.MOTION, ScaleState.UNDERLOAD})

# One colour per classification, the same on the screen and in the picker.
CLASS_STYLES = {
    Classification.REUSE: "bold green",
    Classification.REPAIR: "bold yellow",
    Classification.RECYCLING: "bold cyan",
}

if TYPE_CHECKING:
    from counter_app.services.counter import RecordedDropOff
    from drivers.printer.preview import PreviewLine


def weight_text(snapshot: ScaleSnapshot, language: str) -> str:
    """The number on the big display, as the indicator shows it (its decimals)."""
    reading = snapshot.reading
    if snapshot.state is ScaleState.OVERLOAD:
        # What indicators show over capacity; Digits has no glyphs for "OL".
        return "^^^^^"
    if reading is None or reading.weight is None or snapshot.state not in SHOWS_WEIGHT:
        return "-----"
    text = f"{reading.weight:f}"
    if reading.unit and reading.unit.lower() == "g":
        text = f"{(reading.weight / 1000):f}"
    if "." in text:
        head, _, tail = text.partition(".")
        head = head.lstrip("0") or "0"
        if head in ("-", "+"):
            head += "0"
        text = f"{head}.{tail}"
    else:
        text = text.lstrip("0") or "0"
    text = text.lstrip("+")
    return text.replace(".", ",") if language == "nl" else text


class WeightDisplay(Vertical):
    """The big live weight, its unit and the scale state."""

    def __init__(self, messages: Messages, language: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._messages = messages
        self._language = language

    def compose(self) -> ComposeResult:
        with Horizontal(id="weight-row"):
            yield Digits("-----", id="weight-digits")
            yield Static("kg", id="weight-unit")
        # On a tall terminal the weight is drawn as large as the panel allows.
        with Horizontal(id="weight-big-row"):
            yield BigWeight("-----", id="weight-big")
            yield Static("kg", id="weight-big-unit")
        yield Static(self._messages.t("scale.connecting"), id="scale-state")

    def show(self, snapshot: ScaleSnapshot) -> None:
        text = weight_text(snapshot, self._language)
        self.query_one("#weight-digits", Digits).update(text)
        self.query_one("#weight-big", BigWeight).update(text)
        unit = "kg"
        if snapshot.reading is not None and snapshot.reading.unit not in (None, "g"):
            unit = snapshot.reading.unit or "kg"
        self.query_one("#weight-unit", Static).update(unit)
        self.query_one("#weight-big-unit", Static).update(unit)
        state = self.query_one("#scale-state", Static)
        label = self._messages.t(STATE_KEYS[snapshot.state])
        if snapshot.reading is not None and snapshot.reading.net:
            label += " · " + self._messages.t("scale.net")
        state.update(label)
        for s in ScaleState:
            self.set_class(s is snapshot.state, f"-{s.value}")


class TotalsStrip(Static):
    """Today's kilograms per classification and the reuse share."""

    def show(
        self, grams_by_class: Mapping[Classification, int], messages: Messages, language: str
    ) -> None:
        total = sum(grams_by_class.get(c, 0) for c in CLASSIFICATIONS)
        text = Text()
        text.append(messages.t("totals.today") + "\n", style="bold")
        for c in CLASSIFICATIONS:
            text.append(f"{messages.t(f'classification.{c}'):<12}", style=CLASS_STYLES[c])
            text.append(f"{format_kg(grams_by_class.get(c, 0), language):>16}\n")
        text.append(f"{messages.t('totals.total'):<12}", style="bold")
        text.append(f"{format_kg(total, language):>16}", style="bold")
        if total:
            share = (
                Decimal(
                    grams_by_class.get(Classification.REUSE, 0)
                    + grams_by_class.get(Classification.REPAIR, 0)
                )
                * 100
                / total
            ).quantize(Decimal(1))
            text.append("\n" + messages.t("totals.reuse_share", percent=share))
        self.update(text)


class DropOffTable(DataTable[str | Text]):
    """Today's drop-offs, newest on top.

    Never focused: Enter belongs to the counter (capture), and the screen moves the
    cursor with the arrow keys.
    """

    can_focus = False

    def __init__(self, messages: Messages, language: str, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self._messages = messages
        self._language = language

    def on_mount(self) -> None:
        t = self._messages.t
        self.add_column(t("list.time"), key="time", width=5)
        self.add_column(t("list.code"), key="code", width=11)
        self.add_column(t("list.kind"), key="kind", width=11)
        # Fixed: an auto width is measured on the first rows and then cuts new ones.
        self.add_column(t("list.category"), key="category", width=24)
        self.add_column(t("list.weight"), key="weight", width=11)

    def show(self, records: Iterable[RecordedDropOff]) -> None:
        self.clear()
        for record in records:
            self.add_row(*self._cells(record), key=record.id)

    def _cells(self, r: RecordedDropOff) -> list[str | Text]:
        time_text = r.recorded_at.astimezone(STATION_TZ).strftime("%H:%M")
        kind = self._messages.t(f"classification.{r.classification}")
        weight = format_kg(r.weight_grams, self._language)
        category = r.category_name
        style = "strike dim" if r.voided else ""
        return [
            Text(time_text, style=style),
            Text(r.label_code, style=style),
            Text(kind, style=f"{style} {CLASS_STYLES.get(r.classification, '')}".strip()),
            Text(category, style=style),
            Text(weight, style=style, justify="right"),
        ]


class LabelPreview(Static):
    """The last label as it will come out of the printer (decoded from its bytes)."""

    def show_lines(self, lines: Sequence[PreviewLine]) -> None:
        text = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            if line.dark_on_light:
                # A QR code scans only dark on light, whatever the terminal's theme.
                text.append(line.text, style="black on white")
                continue
            if not line.spans:
                text.append(line.text)
            for span in line.spans:
                style = " ".join(
                    name
                    for name, on in (
                        ("bold", span.bold or span.width_mult > 1),
                        ("underline", span.underline),
                        ("reverse", span.inverted),
                    )
                    if on
                )
                text.append(span.text, style=style)
        self.update(text)

"""The counter screen's widgets. They show what they are given; they fetch nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual._styles_cache import StylesCache
from textual.app import ComposeResult
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widget import Widget
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
    from textual.screen import Screen

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
        if r.weight_source == "manual":
            # A typed weight is never to be taken for a weighing (first: never cut off).
            category = f"{self._messages.t('manual.mark').upper()} · {category}"
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


#: Style meta naming the key drawn in a cell of the key bar.
KEY_META = "key-bar.key"


@dataclass(frozen=True, slots=True)
class ShownKey:
    """One key on the key bar: what to press, what it does, whether it does it now."""

    key: str
    display: str
    description: str
    enabled: bool


class KeyLine(Widget):
    """The keys as one line of text; a click on a key presses it."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-line--key", "key-line--description"}
    # The look of Textual's compact Footer: bold key, its text after one space, one
    # space between keys.
    DEFAULT_CSS = """
    KeyLine {
        height: 1;
        text-wrap: nowrap;
        background: $footer-item-background;
        .key-line--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-line--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[ShownKey, ...] = ()

    def show(self, keys: Iterable[ShownKey]) -> None:
        keys = tuple(keys)
        if keys != self._keys:
            self._keys = keys
            # As wide as the keys, wider than the terminal if need be (an auto width
            # stops at the bar's): the bar scrolls to the rest.
            self.styles.width = sum(
                cell_len(k.display) + (cell_len(k.description) + 1 if k.description else 0) + 1
                for k in keys
            )
            self.refresh(layout=True)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-line--key")
        description_style = self.get_component_rich_style("key-line--description")
        text = Text(no_wrap=True, overflow="crop")
        for shown in self._keys:
            # The key under the mouse is found by its style (see on_mouse_down); it
            # also keeps a key's cells apart from the space after it, as the Footer's
            # widgets were (the screenshots stay the same).
            pressed = Style(dim=not shown.enabled, meta={KEY_META: shown.key})
            text.append(shown.display, key_style + pressed)
            if shown.description:
                text.append(" " + shown.description, description_style + pressed)
            text.append(" ")
        text.stylize_before(self.rich_style)
        return text

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = event.style.meta.get(KEY_META)
        shown = next((k for k in self._keys if k.key == key), None)
        if shown is None:
            return
        if shown.enabled:
            self.app.simulate_key(shown.key)
        else:
            self.app.bell()


class KeyBar(ScrollableContainer, can_focus=False, can_focus_children=False):
    """The screen's keys and what they do, along the bottom: in place of Textual's Footer.

    Textual 8.2.8's Footer builds a widget per key each time the bindings change (a
    modal screen opening or closing) and keeps every one it ever built alive: 22
    widgets and about 0.5 MiB for each drop-off at the counter. This bar draws the
    keys as one line of text and draws it again instead. See docs/textual-footer-leak.md,
    also for when ``Footer(compact=True)`` can come back.
    """

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        layout: horizontal;
        color: $footer-foreground;
        background: $footer-background;
        scrollbar-size: 0 0;
    }
    """

    def compose(self) -> ComposeResult:
        yield KeyLine()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # As the Footer: the bindings shown, one key per action (the first bound).
        by_action: dict[str, ShownKey] = {}
        for _, binding, enabled, _ in screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = ShownKey(
                    binding.key, self.app.get_key_display(binding), binding.description, enabled
                )
        self.query_one(KeyLine).show(by_action.values())

    # A key bar wider than the terminal scrolls sideways with the wheel, as the Footer.
    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self.allow_horizontal_scroll:
            self.release_anchor()
            if self._scroll_right_for_pointer(animate=True):
                event.stop()
                event.prevent_default()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.allow_horizontal_scroll:
            self.release_anchor()
            if self._scroll_left_for_pointer(animate=True):
                event.stop()
                event.prevent_default()


def release_lines_of_removed_widgets() -> None:
    """Let the lines drawn by widgets that are gone be freed.

    Textual 8.2.8 memoizes ``StylesCache.get_inner_outer`` with ``functools.lru_cache``
    on the instance method: the cache keeps the ``StylesCache`` of up to 1024 widgets,
    with every line they drew, after the widgets are gone. A category picker leaves
    seven behind per drop-off (about 0.3 MiB) until some 45 MiB are held. The cache
    only saves making two ``Style`` objects; see docs/textual-footer-leak.md.
    """
    StylesCache.get_inner_outer.cache_clear()

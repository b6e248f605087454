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
from textual._two_way_dict import TwoWayDict
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
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
        # What the display shows now: (number, unit, state words, state).
        self._shown: tuple[str, str, str, ScaleState] | None = None

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
        unit = "kg"
        if snapshot.reading is not None and snapshot.reading.unit not in (None, "g"):
            unit = snapshot.reading.unit or "kg"
        label = self._messages.t(STATE_KEYS[snapshot.state])
        if snapshot.reading is not None and snapshot.reading.net:
            label += " · " + self._messages.t("scale.net")
        shown = (text, unit, label, snapshot.state)
        # The indicator repeats its reading ten or twenty times a second, mostly the
        # same: a Static's update lays out the whole screen again (and under a modal
        # paints both screens in full), so only what changed is given to the widgets.
        if shown == self._shown:
            return
        before = self._shown
        self._shown = shown
        # Digits lays the screen out only when the number's width changes; the big
        # weight fills its panel whatever it shows.
        self.query_one("#weight-digits", Digits).update(text)
        self.query_one("#weight-big", BigWeight).update(text)
        if before is None or before[1] != unit:
            # The unit is as wide as its text: another unit is another layout.
            self.query_one("#weight-unit", Static).update(unit)
            self.query_one("#weight-big-unit", Static).update(unit)
        if before is None or before[2] != label:
            # One line, as wide as the panel: new words need no layout.
            self.query_one("#scale-state", Static).update(label, layout=False)
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
        # The strip has a fixed size (counter.tcss): new figures need no layout.
        self.update(text, layout=False)


#: The cells of a column that is never cut: time ("12:34") and label code.
TIME_WIDTH = 5
#: A label code as the counter makes them: station and six digits (MS01-000123).
CODE_WIDTH = 11
#: "20 01 40": the EURAL code, shown only where the list has room for it.
EURAL_WIDTH = 8
#: The category never gets fewer cells than this; below it the list scrolls sideways.
CATEGORY_MIN = 10
#: The EURAL column appears when the category keeps at least this many cells beside it.
CATEGORY_BESIDE_EURAL = 24
#: Cells between columns and at the list's edges (DataTable's cell padding, each side).
CELL_PADDING = 1
#: Kept free for the list's vertical scroll bar, so columns do not jump when it appears.
SCROLLBAR_WIDTH = 1
#: The widest weight a day's list plans for before it has seen one: "1.234,56 kg".
PLANNED_WEIGHT_GRAMS = 1_234_560


@dataclass(frozen=True, slots=True)
class ListColumns:
    """The widths of today's list's columns for one width of the list (in cells)."""

    kind: int
    category: int
    weight: int
    eural: int  # 0: the EURAL column is left out

    @property
    def keys(self) -> tuple[str, ...]:
        base = ("time", "code", "kind", "category")
        return (*base, "eural", "weight") if self.eural else (*base, "weight")


def plan_columns(width: int, *, kind: int, weight: int) -> ListColumns:
    """Fit today's list into ``width`` cells: time, code, kind and weight whole, the
    category gets the rest (at least ``CATEGORY_MIN``), the EURAL code only when the
    category keeps ``CATEGORY_BESIDE_EURAL`` cells beside it."""
    padding = 2 * CELL_PADDING
    fixed = TIME_WIDTH + CODE_WIDTH + kind + weight + 5 * padding + SCROLLBAR_WIDTH
    room = width - fixed
    if room - EURAL_WIDTH - padding >= CATEGORY_BESIDE_EURAL:
        return ListColumns(kind, room - EURAL_WIDTH - padding, weight, EURAL_WIDTH)
    return ListColumns(kind, max(CATEGORY_MIN, room), weight, 0)


def fit_cell(text: str, width: int) -> str:
    """``text`` in ``width`` cells: whole, or cut and ended with "…" where it was cut."""
    if cell_len(text) <= width:
        return text
    cut = Text(text)
    cut.truncate(max(0, width - 1))
    return cut.plain.rstrip() + "…"


def drop_off_cells(
    record: RecordedDropOff, messages: Messages, language: str, columns: ListColumns
) -> list[Text]:
    """One row of today's list: a record in, its cells out, in ``columns.keys`` order.

    The one place a row is drawn: a row's state (voided, corrected, manual) is a style
    here, so every list and every width shows it the same.
    """
    style = "strike dim" if record.voided else ""
    category = record.category_name
    if record.corrects_label_code and not record.voided:
        # A correction: marked, so the row beside its struck-through original reads as
        # its replacement.
        category = f"✎ {category}"
        style = "italic"
    if record.weight_source == "manual":
        # A typed weight is never to be taken for a weighing (first: never cut off).
        category = f"{messages.t('manual.mark').upper()} · {category}"
    kind = messages.t(f"classification.{record.classification}")
    cells = [
        Text(record.recorded_at.astimezone(STATION_TZ).strftime("%H:%M"), style=style),
        Text(record.label_code, style=style),
        Text(
            fit_cell(kind, columns.kind),
            style=f"{style} {CLASS_STYLES.get(record.classification, '')}".strip(),
        ),
        Text(fit_cell(category, columns.category), style=style),
    ]
    if columns.eural:
        cells.append(Text(record.eural_code or "", style=style))
    cells.append(Text(format_kg(record.weight_grams, language), style=style, justify="right"))
    return cells


class DropOffTable(DataTable[str | Text]):
    """Today's drop-offs, newest on top, fitted to the list's width.

    Never focused: Enter belongs to the counter (capture), and the screen moves the
    cursor with the arrow keys. The columns are planned for the width the list has
    (:func:`plan_columns`) and planned again when it changes; a new record goes on top
    without the day being drawn again (:meth:`add_first`).
    """

    can_focus = False
    DEFAULT_CSS = """
    DropOffTable {
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, messages: Messages, language: str, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self._messages = messages
        self._language = language
        self._records: list[RecordedDropOff] = []
        self._ids: set[str] = set()
        self._columns: ListColumns | None = None
        self._kind_width = max(cell_len(messages.t(f"classification.{c}")) for c in CLASSIFICATIONS)
        self._weight_width = max(
            cell_len(messages.t("list.weight")), cell_len(format_kg(PLANNED_WEIGHT_GRAMS, language))
        )

    def width_needed(self, category: int) -> int:
        """The cells the list needs to show every column whole and the category in
        ``category`` cells (the EURAL code left out)."""
        padding = 2 * CELL_PADDING
        fixed = TIME_WIDTH + CODE_WIDTH + self._kind_width + self._weight_width
        return fixed + category + 5 * padding + SCROLLBAR_WIDTH

    @property
    def columns_shown(self) -> ListColumns | None:
        """The columns as planned for the list's current width."""
        return self._columns

    def on_mount(self) -> None:
        self._plan()

    def on_resize(self) -> None:
        self._plan()

    def _plan(self) -> None:
        width = self.size.width or self.app.size.width
        columns = plan_columns(width, kind=self._kind_width, weight=self._weight_width)
        if columns != self._columns:
            self._columns = columns
            self._draw_all()

    def _draw_all(self) -> None:
        columns = self._columns
        if columns is None:
            return
        t = self._messages.t
        cursor = self.cursor_row
        self.clear(columns=True)
        headers: dict[str, tuple[str | Text, int]] = {
            "time": (t("list.time"), TIME_WIDTH),
            "code": (t("list.code"), CODE_WIDTH),
            "kind": (t("list.kind"), columns.kind),
            "category": (t("list.category"), columns.category),
            "eural": (t("list.eural"), columns.eural),
            "weight": (Text(t("list.weight"), justify="right"), columns.weight),
        }
        for key in columns.keys:
            label, width = headers[key]
            # Fixed widths: an auto width is measured on the first rows and cuts new ones.
            self.add_column(label, key=key, width=width)
        for record in self._records:
            self.add_row(
                *drop_off_cells(record, self._messages, self._language, columns), key=record.id
            )
        if self._records:
            self.move_cursor(row=min(cursor, len(self._records) - 1))

    def show(self, records: Iterable[RecordedDropOff]) -> None:
        """The day's list, newest first, in place of what was shown."""
        self._records = list(records)
        self._ids = {r.id for r in self._records}
        self._widen_weight(self._records)
        if not self._plan_if_wider():
            self._draw_all()

    def add_first(self, record: RecordedDropOff) -> bool:
        """Put a new record on top; ``False`` (and nothing changes) when it is listed
        already, so a record is never shown or counted twice."""
        if record.id in self._ids:
            return False
        self._records.insert(0, record)
        self._ids.add(record.id)
        self._widen_weight((record,))
        if self._plan_if_wider():
            return True
        assert self._columns is not None
        row_key = self.add_row(
            *drop_off_cells(record, self._messages, self._language, self._columns), key=record.id
        )
        # DataTable appends; the newest belongs on top: every row one down, the new one
        # first. This is how DataTable.sort puts its rows in a new order (it sorts by
        # cell values only, and a list's order is its records').
        locations = self._row_locations
        self._row_locations = TwoWayDict(
            {key: 0 if key == row_key else (locations.get(key) or 0) + 1 for key in locations}
        )
        self._update_count += 1
        # What DataTable drew is cached by its update count: those entries are never
        # used again, yet stay until the caches' bounds (10,000 cells) push them out.
        self._clear_caches()
        self.refresh()
        return True

    def _widen_weight(self, records: Iterable[RecordedDropOff]) -> None:
        widest = max(
            (cell_len(format_kg(r.weight_grams, self._language)) for r in records), default=0
        )
        self._weight_width = max(self._weight_width, widest)

    def _plan_if_wider(self) -> bool:
        """Plan the columns again if a weight needs more room; whether it drew all."""
        if self._columns is None or self._weight_width == self._columns.weight:
            return False
        self._columns = None
        self._plan()
        return True

    def drop_off_id_at_cursor(self) -> str | None:
        """The id of the record on the cursor's row; ``None`` for an empty list."""
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)


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
    """One key on the key bar: what to press, what it does, whether it does it now.

    ``short`` is the word used when the full words do not fit (the same when empty).
    """

    key: str
    display: str
    description: str
    enabled: bool
    action: str = ""
    short: str = ""


#: A key and the word shown after it.
KeyWord = tuple[ShownKey, str]


def _key_cells(key: ShownKey, word: str) -> int:
    return cell_len(key.display) + (1 + cell_len(word) if word else 0)


def pack_keys(items: Sequence[KeyWord], width: int) -> list[list[KeyWord]]:
    """The keys in order, as many to a line of ``width`` cells as fit (one space apart)."""
    lines: list[list[KeyWord]] = [[]]
    used = 0
    for key, word in items:
        cells = _key_cells(key, word)
        if lines[-1] and used + 1 + cells > width:
            lines.append([])
            used = 0
        used += cells + (1 if lines[-1] else 0)
        lines[-1].append((key, word))
    return lines


def arrange_keys(
    keys: Sequence[ShownKey],
    width: int,
    *,
    max_lines: int = 2,
    more_action: str = "",
    more_word: str = "",
) -> list[list[KeyWord]]:
    """Lay the keys out on at most ``max_lines`` lines of ``width`` cells.

    First with their full words, then with their short words; when even those do
    not fit, the last keys wait behind the key of ``more_action`` (help), which then
    says ``more_word`` ("F1 Meer") and comes last: the help lists every key.
    """
    full = [(k, k.description) for k in keys]
    lines = pack_keys(full, width)
    if len(lines) <= max_lines:
        return lines
    short = [(k, k.short or k.description) for k in keys]
    lines = pack_keys(short, width)
    more = next((k for k in keys if more_action and k.action == more_action), None)
    if len(lines) <= max_lines or more is None:
        return lines[:max_lines]
    others = [item for item in short if item[0] is not more]
    while others:
        lines = pack_keys([*others, (more, more_word)], width)
        if len(lines) <= max_lines:
            return lines
        others.pop()
    return pack_keys([(more, more_word)], width)


class KeyBar(Widget, can_focus=False):
    """The screen's keys and what they do, along the bottom: in place of Textual's Footer.

    Every key is on screen at every width: on one line if they fit, else on two, with
    short words if need be (``short_words``, by action), and what still does not fit
    waits behind the help key ("F1 Meer"; see :func:`arrange_keys`).

    Textual 8.2.8's Footer builds a widget per key each time the bindings change (a
    modal screen opening or closing) and keeps every one it ever built alive: 22
    widgets and about 0.5 MiB for each drop-off at the counter. This bar has no
    children: it draws the keys as text and draws them again instead. See
    docs/textual-footer-leak.md, also for when ``Footer(compact=True)`` can come back.
    A click on a key presses it.
    """

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}
    # The look of Textual's compact Footer: bold key, its text after one space, one
    # space between keys.
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        color: $footer-foreground;
        background: $footer-item-background;
        .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """
    MAX_LINES = 2

    def __init__(
        self,
        short_words: Mapping[str, str] | None = None,
        *,
        more_action: str = "",
        more_word: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._short_words = dict(short_words or {})
        self._more_action = more_action
        self._more_word = more_word
        self._keys: tuple[ShownKey, ...] = ()
        self._lines: list[list[KeyWord]] = []
        self._width = 0

    @property
    def lines(self) -> list[str]:
        """The key bar's lines as plain text, as the attendant reads them."""
        return [
            " ".join(f"{k.display} {w}" if w else k.display for k, w in line)
            for line in self._lines
        ]

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self._arrange()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # As the Footer: the bindings shown, one key per action (the first bound).
        by_action: dict[str, ShownKey] = {}
        for _, binding, enabled, _ in screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = ShownKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    enabled,
                    binding.action,
                    self._short_words.get(binding.action, ""),
                )
        keys = tuple(by_action.values())
        if keys != self._keys:
            self._keys = keys
            self._width = 0
            self._arrange()

    def _arrange(self) -> None:
        width = self.size.width or self.app.size.width
        if width == self._width:
            return
        self._width = width
        self._lines = arrange_keys(
            self._keys,
            width,
            max_lines=self.MAX_LINES,
            more_action=self._more_action,
            more_word=self._more_word,
        )
        height = max(1, len(self._lines))
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height
        self.refresh(layout=True)

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        text = Text(no_wrap=True, overflow="crop", end="")
        for number, line in enumerate(self._lines):
            if number:
                text.append("\n")
            for shown, word in line:
                # The key under the mouse is found by its style (see on_mouse_down); it
                # also keeps a key's cells apart from the space after it.
                pressed = Style(dim=not shown.enabled, meta={KEY_META: shown.key})
                text.append(shown.display, key_style + pressed)
                if word:
                    text.append(" " + word, description_style + pressed)
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


def release_lines_of_removed_widgets() -> None:
    """Let the lines drawn by widgets that are gone be freed.

    Textual 8.2.8 memoizes ``StylesCache.get_inner_outer`` with ``functools.lru_cache``
    on the instance method: the cache keeps the ``StylesCache`` of up to 1024 widgets,
    with every line they drew, after the widgets are gone. A category picker leaves
    seven behind per drop-off (about 0.3 MiB) until some 45 MiB are held. The cache
    only saves making two ``Style`` objects; see docs/textual-footer-leak.md.
    """
    StylesCache.get_inner_outer.cache_clear()

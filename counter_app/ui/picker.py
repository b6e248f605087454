"""Pick a category (reuse, repair) or a fraction (recycling), filtered as you type."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from counter_app.catalogue import Catalogue, CatalogueEntry, Classification
from counter_app.i18n import Messages


class CategoryPicker(ModalScreen[CatalogueEntry | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Esc", show=False),
        Binding("down", "move(1)", show=False, priority=True),
        Binding("up", "move(-1)", show=False, priority=True),
        Binding("pagedown", "move(8)", show=False, priority=True),
        Binding("pageup", "move(-8)", show=False, priority=True),
    ]

    def __init__(
        self,
        catalogue: Catalogue,
        classification: str,
        messages: Messages,
        language: str,
        preselect: str | None = None,
    ) -> None:
        super().__init__()
        self._catalogue = catalogue
        self._classification = classification
        self._messages = messages
        self._language = language
        self._preselect = preselect
        self._shown: list[CatalogueEntry] = []

    def compose(self) -> ComposeResult:
        t = self._messages.t
        with Vertical(id="picker", classes=f"class-{self._classification}"):
            yield Static(
                t(
                    "picker.title_fraction"
                    if self._classification == Classification.RECYCLING
                    else "picker.title",
                    classification=t(f"classification.{self._classification}"),
                ),
                id="picker-title",
            )
            yield Input(placeholder=t("picker.filter"), id="picker-filter")
            yield OptionList(id="picker-options")
            yield Static(t("picker.nothing"), id="picker-nothing")
            yield Static(t("picker.hint"), id="picker-hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, text: str) -> None:
        if text:
            entries = self._catalogue.search(self._classification, text, self._language)
        else:
            entries = self._catalogue.entries_for(self._classification)
        self._shown = list(entries)
        # Said in the picker itself: a toast would hide behind the modal.
        self.query_one("#picker-nothing").display = not self._shown
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(self._prompt(e), id=e.code) for e in self._shown)
        if self._shown:
            index = 0
            if not text and self._preselect:
                for i, e in enumerate(self._shown):
                    if e.code == self._preselect:
                        index = i
                        break
            options.highlighted = index

    def _prompt(self, entry: CatalogueEntry) -> str:
        name = entry.name(self._language)
        if entry.eural_code:
            return f"{name}  [dim]{entry.eural_code}[/]"
        return name

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._choose(self.query_one(OptionList).highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def _choose(self, index: int | None) -> None:
        if index is None or not (0 <= index < len(self._shown)):
            self.notify(self._messages.t("picker.nothing"), severity="warning")
            return
        self.dismiss(self._shown[index])

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if not self._shown:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self._shown) - 1, current + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)

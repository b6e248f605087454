"""c on a row of today's list: correct it with another classification or category (the
category picker), or the weight weighed again (the scale's stable reading), and a
reason. The counter service records the correction in a worker; its label is printed
marked GECORRIGEERD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from counter_app.catalogue import Catalogue, CatalogueEntry
from counter_app.i18n import Messages
from counter_app.ui.picker import CategoryPicker
from counter_app.ui.void import ReasonChoice


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """What the attendant asked for: a new category (``entry``), the weight weighed
    again, or both; and why."""

    entry: CatalogueEntry | None
    weigh_again: bool
    reason: str
    #: The weight shown when g was pressed: the correction records that one or nothing.
    weighed_grams: int | None = None


class CorrectScreen(ModalScreen[CorrectionRequest | None]):
    """Correct ``MS01-000123``: 1 2 3 pick another category, g weighs again, a reason,
    Enter. Answers the request, or ``None`` (Esc).

    ``weight_now`` says what weighing again would take now: the weight in words, why
    not (the scale's refusal in words) when there is none, and its grams, which go
    with the request so that nothing else than the weight shown is recorded.
    """

    DEFAULT_CSS = """
    CorrectScreen {
        align: center middle;
    }
    #correct {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    #correct-title {
        text-style: bold;
    }
    #correct-change {
        text-style: bold;
        color: $text-warning;
    }
    #correct-hint {
        color: $text-muted;
    }
    #correct-hint.-error {
        color: $error;
        text-style: bold;
    }
    """

    BINDINGS = [
        Binding("1", "pick('reuse')", show=False),
        Binding("2", "pick('repair')", show=False),
        Binding("3", "pick('recycling')", show=False),
        Binding("g", "weigh_again", show=False),
        Binding("escape", "cancel", show=False),
    ]

    def __init__(
        self,
        messages: Messages,
        language: str,
        catalogue: Catalogue,
        title: str,
        *,
        weight_now: Callable[[], tuple[str | None, str, int | None]],
    ) -> None:
        super().__init__()
        self._messages = messages
        self._language = language
        self._catalogue = catalogue
        self._title = title
        self._weight_now = weight_now
        self._entry: CatalogueEntry | None = None
        self._weigh_again = False
        self._weight_text = ""
        self._weighed_grams: int | None = None

    def compose(self) -> ComposeResult:
        t = self._messages.t
        with Vertical(id="correct"):
            yield Static(self._title, id="correct-title")
            yield Static(t("correction.change_none"), id="correct-change")
            yield ReasonChoice(self._messages, initial="wrong_category")
            yield Static(t("correction.correct_hint"), id="correct-hint")

    def _show_change(self, refusal: str = "") -> None:
        t = self._messages.t
        lines = []
        if self._entry is not None:
            lines.append(
                t(
                    "correction.change_category",
                    classification=t(f"classification.{self._entry.classification}"),
                    category=self._entry.name(self._language),
                )
            )
        if self._weigh_again:
            lines.append(t("correction.change_weight", weight=self._weight_text))
        if refusal:
            lines.append(refusal)
        self.query_one("#correct-change", Static).update(
            "\n".join(lines) or t("correction.change_none")
        )

    def action_pick(self, classification: str) -> None:
        def picked(entry: CatalogueEntry | None) -> None:
            if entry is not None:
                self._entry = entry
            self._show_change()

        self.app.push_screen(
            CategoryPicker(self._catalogue, classification, self._messages, self._language),
            picked,
        )

    def action_weigh_again(self) -> None:
        weight, refusal, grams = self._weight_now()
        self._weigh_again = weight is not None
        self._weight_text = weight or ""
        self._weighed_grams = grams
        self._show_change(refusal)

    @on(OptionList.OptionSelected)
    @on(Input.Submitted)
    def _confirmed(self, event: OptionList.OptionSelected | Input.Submitted) -> None:
        event.stop()
        hint = self.query_one("#correct-hint", Static)
        if self._entry is None and not self._weigh_again:
            hint.update(self._messages.t("correction.change_none"))
            hint.add_class("-error")
            return
        reason = self.query_one(ReasonChoice).confirmed_reason(event, hint)
        if reason is not None:
            self.dismiss(
                CorrectionRequest(self._entry, self._weigh_again, reason, self._weighed_grams)
            )

    def action_cancel(self) -> None:
        self.dismiss(None)

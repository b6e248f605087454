"""F1: the keys, in the attendant's language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from counter_app.i18n import Messages


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "close", "Esc", show=False),
    ]

    def __init__(self, messages: Messages) -> None:
        super().__init__()
        self._messages = messages

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self._messages.t("help.title"), id="help-title")
            yield Static(self._messages.t("help.body"), id="help-body")
            yield Static(self._messages.t("help.close"), id="help-close")

    def action_close(self) -> None:
        self.dismiss(None)

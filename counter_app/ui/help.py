"""F1: the keys, in the attendant's language."""

from __future__ import annotations

from collections.abc import Iterable

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

    def __init__(self, messages: Messages, not_offered: Iterable[str] = ()) -> None:
        """``not_offered``: keys as the help writes them (``"Delete"``, ``"c"``) that
        this counter does not offer; their lines are left out."""
        super().__init__()
        self._messages = messages
        self._not_offered = tuple(not_offered)

    def _body(self) -> str:
        return "\n".join(
            line
            for line in self._messages.t("help.body").splitlines()
            if not any(line.startswith(f"  {key} ") for key in self._not_offered)
        )

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(self._messages.t("help.title"), id="help-title")
            yield Static(self._body(), id="help-body")
            yield Static(self._messages.t("help.close"), id="help-close")

    def action_close(self) -> None:
        self.dismiss(None)

"""F1: the keys, in the attendant's language."""

from __future__ import annotations

from collections.abc import Iterable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from counter_app.i18n import Messages

#: Rows of the help box that are not its scrolling keys: the border (2), the title and
#: the close line.
HELP_FRAME_ROWS = 4


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
        # The title and how to close stay in view; on a short terminal (80x24) only
        # the keys between them scroll (arrows, PgUp and PgDn).
        with Vertical(id="help"):
            yield Static(self._messages.t("help.title"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self._body(), id="help-body")
            yield Static(self._messages.t("help.close"), id="help-close")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
        self._fit(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        # What the title, the close line and the box's border leave of the terminal.
        self.query_one("#help-scroll").styles.max_height = max(3, height - HELP_FRAME_ROWS)

    def action_close(self) -> None:
        self.dismiss(None)

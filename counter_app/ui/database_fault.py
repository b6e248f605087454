"""Say once, at start, that the database cannot be used: what is wrong, what to do.

Without it the counter would start and refuse every weight with "not open yet". The
modal names the reason in the attendant's language and what to do about it; closed,
the counter stays up (the scale and the diagnostics work) and every capture says
the same reason on the prompt.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from counter_app.i18n import Messages


class DatabaseFaultScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DatabaseFaultScreen {
        align: center middle;
    }
    DatabaseFaultScreen #database-fault {
        width: 70;
        max-width: 100%;
        height: auto;
        border: thick $error;
        background: $surface;
        padding: 0 1;
    }
    DatabaseFaultScreen #database-fault-title {
        text-style: bold;
        color: $error;
    }
    DatabaseFaultScreen #database-fault-close {
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape,enter", "close", show=False)]

    def __init__(self, messages: Messages, reason: str, advice: str) -> None:
        super().__init__()
        self._messages = messages
        self._reason = reason
        self._advice = advice

    def compose(self) -> ComposeResult:
        t = self._messages.t
        with Vertical(id="database-fault"):
            yield Static(t("database_fault.title"), id="database-fault-title")
            yield Static(self._reason, id="database-fault-reason", markup=False)
            if self._advice:
                yield Static(self._advice, id="database-fault-advice", markup=False)
            yield Static(t("database_fault.body"), id="database-fault-body")
            yield Static(t("database_fault.close"), id="database-fault-close")

    def action_close(self) -> None:
        self.dismiss(None)

"""Ask for a weight typed in by hand, and the reason it was not weighed (``m``).

The modal checks what was typed with the counter service's rule before it closes: a
wrong weight or an empty reason is said here, in the attendant's language, and what
was typed stays to be corrected. It records nothing itself; the screen does.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from counter_app.i18n import Messages

#: Checks a typed weight and reason: ``None`` when they can be recorded, else the words.
ManualCheck = Callable[[str, str], str | None]


class ManualWeightScreen(ModalScreen[tuple[str, str] | None]):
    """Weight in kg and a reason; dismissed with both as typed, or ``None`` (Esc)."""

    DEFAULT_CSS = """
    ManualWeightScreen {
        align: center middle;
    }
    ManualWeightScreen #manual {
        width: 64;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 0 1;
    }
    ManualWeightScreen #manual-title {
        text-style: bold;
    }
    ManualWeightScreen #manual-problem {
        color: $error;
        text-style: bold;
        height: auto;
    }
    ManualWeightScreen #manual-hint {
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, messages: Messages, category: str, check: ManualCheck) -> None:
        super().__init__()
        self._messages = messages
        self._category = category
        self._check = check

    def compose(self) -> ComposeResult:
        t = self._messages.t
        with Vertical(id="manual"):
            yield Static(f"{t('manual.title')} · {self._category}", id="manual-title")
            yield Input(placeholder=t("manual.prompt"), id="manual-weight")
            yield Input(placeholder=t("manual.reason_prompt"), id="manual-reason")
            yield Static("", id="manual-problem")
            yield Static(t("manual.hint"), id="manual-hint")

    def on_mount(self) -> None:
        self.query_one("#manual-weight", Input).focus()

    @on(Input.Submitted, "#manual-weight")
    def _weight_entered(self) -> None:
        self.query_one("#manual-reason", Input).focus()

    @on(Input.Submitted, "#manual-reason")
    def _reason_entered(self) -> None:
        weight = self.query_one("#manual-weight", Input)
        reason = self.query_one("#manual-reason", Input)
        problem = self._check(weight.value, reason.value)
        if problem is not None:
            self.query_one("#manual-problem", Static).update(problem)
            # Back to the field that is wrong; what was typed stays.
            if weight.value.strip() and not self._check(weight.value, "-"):
                reason.focus()
            else:
                weight.focus()
            return
        self.dismiss((weight.value, reason.value))

    def action_cancel(self) -> None:
        self.dismiss(None)

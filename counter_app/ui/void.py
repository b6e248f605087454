"""Delete on a row of today's list: void it, for a reason from a short list or typed.

The screen asks; the counter service voids (in a worker) and the list shows the row
struck through. :class:`ReasonChoice` is the reason part, shared with the correction
modal (``correct.py``).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from counter_app.i18n import Messages

#: The reasons offered, in this order; catalogue keys under ``correction.reasons``.
#: The last one asks for the reason in words.
REASON_KEYS: tuple[str, ...] = (
    "double",
    "wrong_category",
    "wrong_classification",
    "test",
    "other",
)
OTHER = "other"


class ReasonChoice(Vertical):
    """A reason: ↑ ↓ and Enter on the short list; "Anders" (or Tab) goes to the line
    for typed words. Typed words, when there are any, are the reason."""

    DEFAULT_CSS = """
    ReasonChoice {
        height: auto;
    }
    ReasonChoice > OptionList {
        height: auto;
        max-height: 7;
    }
    """

    def __init__(self, messages: Messages, *, initial: str = REASON_KEYS[0]) -> None:
        super().__init__(id="reason-choice")
        self._messages = messages
        self._initial = initial

    def compose(self) -> ComposeResult:
        t = self._messages.t
        yield Static(t("correction.reason"), id="reason-caption")
        yield OptionList(
            *(Option(t(f"correction.reasons.{key}"), id=key) for key in REASON_KEYS),
            id="reasons",
        )
        yield Input(placeholder=t("correction.other_reason"), id="reason-text")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = REASON_KEYS.index(self._initial)
        options.focus()

    def reason(self) -> str | None:
        """The reason as it will be recorded; ``None`` while "Anders" has no words."""
        typed = self.query_one(Input).value.strip()
        if typed:
            return typed
        index = self.query_one(OptionList).highlighted
        if index is None or REASON_KEYS[index] == OTHER:
            return None
        return self._messages.t(f"correction.reasons.{REASON_KEYS[index]}")

    def wants_words(self) -> bool:
        """The highlighted reason is "Anders" and nothing is typed yet."""
        index = self.query_one(OptionList).highlighted
        return index is not None and REASON_KEYS[index] == OTHER and not self.typed

    @property
    def typed(self) -> str:
        return self.query_one(Input).value.strip()

    def type_words(self) -> None:
        self.query_one(Input).focus()

    def confirmed_reason(
        self, event: OptionList.OptionSelected | Input.Submitted, hint: Static
    ) -> str | None:
        """The reason the modal's Enter (``event``) confirms, or ``None`` when there is
        none yet: Enter on "Anders" goes to the line for words, and an empty reason is
        said on ``hint`` (nothing is recorded without one)."""
        if isinstance(event, OptionList.OptionSelected) and self.wants_words():
            self.type_words()
            return None
        reason = self.reason()
        if reason is None:
            hint.update(self._messages.t("correction.refused.empty_reason"))
            hint.add_class("-error")
            self.type_words()
        return reason


class VoidScreen(ModalScreen[str | None]):
    """Void ``MS01-000123``? Answers the reason, or ``None`` (Esc)."""

    DEFAULT_CSS = """
    VoidScreen {
        align: center middle;
    }
    #void {
        width: 64;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $error;
        background: $surface;
        padding: 0 1;
    }
    #void-title {
        text-style: bold;
    }
    #void-hint {
        color: $text-muted;
    }
    #void-hint.-error {
        color: $error;
        text-style: bold;
    }
    """

    BINDINGS = [Binding("escape", "cancel", show=False)]

    def __init__(self, messages: Messages, title: str) -> None:
        super().__init__()
        self._messages = messages
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="void"):
            yield Static(self._title, id="void-title")
            yield ReasonChoice(self._messages)
            yield Static(self._messages.t("correction.void_hint"), id="void-hint")

    @on(OptionList.OptionSelected)
    @on(Input.Submitted)
    def _confirmed(self, event: OptionList.OptionSelected | Input.Submitted) -> None:
        event.stop()
        hint = self.query_one("#void-hint", Static)
        reason = self.query_one(ReasonChoice).confirmed_reason(event, hint)
        if reason is not None:
            self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)

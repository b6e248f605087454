"""A yes/no question before something is done twice (j/y: yes; n/Esc: no)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmRepeatScreen(ModalScreen[bool]):
    """ "This weight was already recorded as MS01-000123. Record it again? (j/n)"."""

    BINDINGS = [
        # Both languages' "yes", so a Dutch hand on an English counter is right too.
        Binding("j,y", "answer(True)", show=False),
        Binding("n,escape", "answer(False)", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="repeat"):
            yield Static(self._question, id="repeat-question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

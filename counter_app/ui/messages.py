"""Messages the services' threads send to the UI (past tense, after Harlequin).

Each carries its payload typed, as the service gave it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from counter_app.services.printing import PrintEvent
from counter_app.services.scale import ScaleSnapshot

if TYPE_CHECKING:
    from counter_app.services.counter import CaptureOutcome, ManualRefused, TodayView


class WeightChanged(Message):
    """A new scale snapshot. Up to 20 a second: a newer one replaces an unhandled one."""

    def __init__(self, snapshot: ScaleSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WeightChanged)


class PrinterChanged(Message):
    def __init__(self, event: PrintEvent) -> None:
        super().__init__()
        self.event = event


class DatabaseOpened(Message):
    pass


class DatabaseFailed(Message):
    """The database could not be opened: ``error`` says why, ``advice`` what to do."""

    def __init__(self, error: str, advice: str = "") -> None:
        super().__init__()
        self.error = error
        self.advice = advice


class CaptureFinished(Message):
    """The counter service answered a capture (recorded, refused, asking first, still
    waiting for the load to settle, dropped) or a typed weight; ``None``: nothing was
    armed any more."""

    def __init__(self, outcome: CaptureOutcome | ManualRefused | None) -> None:
        super().__init__()
        self.outcome = outcome


class RecordFailed(Message):
    """The database refused the record: nothing was acknowledged."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TodayLoaded(Message):
    """The day's list and totals; ``generation`` orders overlapping reloads."""

    def __init__(self, view: TodayView, generation: int = 0) -> None:
        super().__init__()
        self.view = view
        self.generation = generation


class ServiceFailed(Message):
    """A service could not do what was asked; the prompt says why, the app goes on."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ActionDone(Message):
    """A background action finished; the prompt shows ``text`` with ``severity``."""

    def __init__(self, text: str, severity: str = "info") -> None:
        super().__init__()
        self.text = text
        self.severity = severity

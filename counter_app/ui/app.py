"""The counter application: wires the services to the counter screen."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.css.query import NoMatches
from textual.driver import Driver

from counter_app.catalogue import Catalogue, load_default_catalogue
from counter_app.i18n import STATION_TZ, Messages
from counter_app.services.counter import CounterService, TodayView
from counter_app.services.failures import failure_words
from counter_app.services.printing import PrintEvent, PrintService
from counter_app.services.scale import ScaleService, ScaleSnapshot
from counter_app.ui.counter_screen import CounterScreen
from counter_app.ui.messages import (
    DatabaseFailed,
    DatabaseOpened,
    PrinterChanged,
    ServiceFailed,
    TodayLoaded,
    WeightChanged,
)
from counter_app.ui.status_words import status_line

if TYPE_CHECKING:
    from counter_app.config import Config
    from counter_app.ui.terminal import TerminalLost

#: How often the counter looks whether the local day has changed (midnight).
DAY_CHECK_SECONDS = 30


class CounterApp(App[None]):
    # Absolute, so a subclass defined elsewhere (benchmarks, tests) finds it too.
    CSS_PATH = Path(__file__).with_name("counter.tcss")
    TITLE = "Milieustraat"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        config: Config,
        *,
        demo_scenario: bool = True,
        demo_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.messages = Messages(config.language)
        # Textual's own Ctrl+Q, shown on the key bar in the attendant's language: in
        # place of Textual's hidden one (the first binding of a key is the one shown).
        self._bindings.key_to_bindings.pop("ctrl+q", None)
        self._bindings.bind(
            "ctrl+q", "quit", self.messages.t("keys.quit"), key_display="^q", priority=True
        )
        self.catalogue: Catalogue = load_default_catalogue()
        self.scale_service = ScaleService(
            config.scale, self._scale_changed, demo_seed=demo_seed, demo_scenario=demo_scenario
        )
        #: The local day the list and totals show; they roll over at midnight.
        self.today: date | None = None
        #: Counts day loads, so the view of an older one never replaces a newer one.
        self.day_generation = 0
        self._generation_lock = threading.Lock()
        #: The counter's workflow; it records once its database is open.
        self.counter_service = CounterService(config, self.scale_service)
        self.print_service: PrintService | None = None
        self.printer_line = self.messages.t("printer.starting")
        #: The terminal went away under the counter (not only a signal came).
        self.terminal_gone = False
        self.counter_screen = CounterScreen(
            self.messages,
            config,
            self.catalogue,
            self.counter_service,
            self.scale_service,
            load_day=self.load_today,
        )

    def get_driver_class(self) -> type[Driver]:
        driver_class = super().get_driver_class()
        if sys.platform != "win32":
            from textual.drivers.linux_driver import LinuxDriver

            if driver_class is LinuxDriver:
                # Ends the counter when its terminal goes away (see ui/terminal.py).
                from counter_app.ui.terminal import CounterDriver

                return CounterDriver
        return driver_class

    # -- start and stop ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(self.counter_screen)
        self._start_scale()
        self._open_database()
        # The list and totals are "today": look now and then whether today changed.
        self.set_interval(DAY_CHECK_SECONDS, self._check_day)

    @work(thread=True, group="start")
    def _start_scale(self) -> None:
        try:
            self.scale_service.start()
        except Exception as exc:  # the counter keeps running; the screen says why
            self.counter_screen.post_message(ServiceFailed(failure_words(exc, self.messages)))

    @work(thread=True, group="start")
    def _open_database(self) -> None:
        counter = self.counter_service
        try:
            counter.open()
            print_service = PrintService(
                self.config, counter.engine, self.messages, on_event=self._print_event
            )
            counter.attach_printer(print_service)
            self.print_service = print_service
            self.post_message(DatabaseOpened())
            generation = self._next_generation()
            view = counter.today(self.local_day())
        except Exception as exc:
            self.post_message(DatabaseFailed(failure_words(exc, self.messages)))
            return
        self.post_message(TodayLoaded(view, generation))
        print_service.start()

    def local_day(self) -> date:
        return datetime.now(STATION_TZ).date()

    def _check_day(self) -> None:
        if self.counter_service.is_open and self.today not in (None, self.local_day()):
            self.reload_today()

    @work(thread=True, exclusive=True, group="today")
    def reload_today(self) -> None:
        """Load the day's list and totals again (after midnight, or when in doubt)."""
        self.load_today()

    def load_today(self) -> None:
        """Load the day's list and totals from the database; the view follows as
        :class:`TodayLoaded` (a failure as :class:`ServiceFailed` on the prompt).

        Runs in a worker thread. At start, at midnight and when in doubt: after a
        record the screen adds the record the service returned as committed
        (``CounterScreen.add_to_day``), once per record id.
        """
        generation = self._next_generation()
        try:
            view = self.counter_service.today(self.local_day())
        except Exception as exc:
            self.counter_screen.post_message(ServiceFailed(failure_words(exc, self.messages)))
            return
        self.post_message(TodayLoaded(view, generation))

    def _next_generation(self) -> int:
        with self._generation_lock:
            self.day_generation += 1
            return self.day_generation

    def on_today_loaded(self, message: TodayLoaded) -> None:
        if message.generation < self.day_generation:
            return  # a newer load was started after this one; its view follows
        self.day_loaded(message.view)
        with contextlib.suppress(NoMatches):
            self.counter_screen.show_day(message.view)

    def on_terminal_lost(self, message: TerminalLost) -> None:
        # As Ctrl+Q: every acknowledged record is committed, the print queue stays in
        # the database; the scale's port is let go (on_unmount).
        self.terminal_gone = message.terminal_gone
        self.exit()

    def action_help_quit(self) -> None:
        """Ctrl+C: say how the counter is closed, in the attendant's language (Textual's
        own hint is English)."""
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                display = self.get_key_display(active.binding)
                self.notify(
                    self.messages.t("quit_prompt.hint", keys=display),
                    title=self.messages.t("quit_prompt.title"),
                    markup=False,
                )
                return

    def on_unmount(self) -> None:
        self.scale_service.stop()
        if self.print_service is not None:
            self.print_service.stop()

    # -- from the services' threads ------------------------------------------------------

    def _scale_changed(self, snapshot: ScaleSnapshot) -> None:
        self.post_message(WeightChanged(snapshot))

    def _print_event(self, event: PrintEvent) -> None:
        self.post_message(PrinterChanged(event))

    def day_loaded(self, view: TodayView) -> None:
        """The screen shows ``view``: the day it shows."""
        self.today = view.totals.day

    def on_weight_changed(self, message: WeightChanged) -> None:
        # The scale thread keeps talking while the app shuts down: a snapshot that
        # arrives after the screen's widgets are gone is dropped.
        with contextlib.suppress(NoMatches):
            self.counter_screen.show_snapshot(message.snapshot)

    def on_printer_changed(self, message: PrinterChanged) -> None:
        event = message.event
        with contextlib.suppress(NoMatches):
            self._show_printer_line(
                status_line(event, self.messages, self.config.printer.connection)
            )
            if event.preview:
                self.counter_screen.show_preview(event.preview)

    def on_database_opened(self, message: DatabaseOpened) -> None:
        self._show_printer_line(self.messages.t("printer.unknown"))

    def on_database_failed(self, message: DatabaseFailed) -> None:
        self._show_printer_line(self.messages.t("status.database_failed", error=message.error))

    def _show_printer_line(self, line: str) -> None:
        self.printer_line = line
        self.counter_screen.show_printer_line(line)


def run_counter(config: Config) -> int:
    """Run the counter; an exception that ended it is raised again (a crash report)."""
    from counter_app.crash import run_app

    app = CounterApp(config)
    code = run_app(app)
    if app.terminal_gone:
        # Nothing to say it to: the last words (and Python's own flush at exit) would
        # only fail on the vanished terminal.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    return code

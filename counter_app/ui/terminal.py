"""The counter ends with its terminal.

A closed terminal window, a dropped SSH connection or a killed tmux session takes the
terminal away. The counter must not run on without it, holding the scale's port: it
ends as after Ctrl+Q (every acknowledged record is committed, the print queue stays as
it is in the database).

How a terminal goes away differs with how the counter was started. Started directly
it is the session's leader and gets SIGHUP. Started through ``make run`` make leads
the session and gets the SIGHUP; the counter only finds that its terminal hung up:
reads give end-of-file or EIO, writes give EIO. Textual's Linux driver neither
handles SIGHUP nor a hung-up terminal (its output thread dies on the first EIO, and
the screen updates then wait forever for it), so :class:`CounterDriver` adds both.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import select
import signal
import threading
from collections.abc import Callable
from typing import IO, Any, cast

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

#: Signals that end the counter as Ctrl+Q does: the terminal hung up, or the
#: system asks the counter to stop (shutdown, ``kill``).
END_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
#: How often the watch looks again whether the driver stopped (not how fast a
#: hang-up is seen: poll returns at once when it happens).
_WATCH_INTERVAL_MS = 500


class TerminalLost(Message):
    """The terminal went away, or SIGHUP/SIGTERM came: the counter ends."""

    def __init__(self, reason: str, *, terminal_gone: bool) -> None:
        super().__init__()
        self.reason = reason
        #: The terminal itself went away (not only a signal came).
        self.terminal_gone = terminal_gone


class _TerminalOutput:
    """The driver's output file; a write to a vanished terminal reports the loss and
    is dropped, so the output thread lives on and nothing waits for it."""

    def __init__(self, file: IO[str], lost: Callable[[str], None]) -> None:
        self._file = file
        self._lost = lost
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._file.write(text)
            except (OSError, ValueError):
                self._gone = True
                self._lost("write")
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._gone = True
                self._lost("write")

    def fileno(self) -> int:
        return self._file.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class CounterDriver(LinuxDriver):
    """Textual's Linux driver, ending the app when its terminal goes away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ending = threading.Event()
        self._gone = False
        self._watch_stop = threading.Event()
        self._watch: threading.Thread | None = None
        self._signals: list[signal.Signals] = []
        if self._file is not None:
            # Duck-typed: Textual's writer thread only writes, flushes and asks fileno().
            self._file = cast("io.TextIOWrapper", _TerminalOutput(self._file, self._terminal_lost))

    def start_application_mode(self) -> None:
        super().start_application_mode()
        self._watch_signals()
        fds = {self.fileno}
        with contextlib.suppress(ValueError, OSError):
            if self._file is not None:
                fds.add(self._file.fileno())
        ttys = [fd for fd in fds if _is_tty(fd)]
        if ttys:
            self._watch = threading.Thread(
                target=self._watch_hang_up, args=(ttys,), name="terminal-watch", daemon=True
            )
            self._watch.start()

    def stop_application_mode(self) -> None:
        self._watch_stop.set()
        self._unwatch_signals()
        super().stop_application_mode()

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:
            # EIO: the terminal hung up under the read. Not a crash of the counter.
            self._terminal_lost("read")

    def _watch_signals(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for signum in END_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._end, signum.name)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._signals.append(signum)

    def _unwatch_signals(self) -> None:
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for signum in self._signals:
                loop.remove_signal_handler(signum)
        self._signals.clear()

    def _watch_hang_up(self, fds: list[int]) -> None:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLHUP)  # hang-up and errors are always reported
        gone = select.POLLHUP | select.POLLERR | select.POLLNVAL
        while not self._watch_stop.is_set():
            try:
                events = poller.poll(_WATCH_INTERVAL_MS)
            except OSError:
                events = [(fds[0], select.POLLERR)]
            if any(mask & gone for _fd, mask in events):
                self._terminal_lost("hang-up")
                return

    def _terminal_lost(self, reason: str) -> None:
        self._gone = True
        self._end(reason)

    def _end(self, reason: str) -> None:
        if not self._ending.is_set():
            self._ending.set()
            self._app.post_message(TerminalLost(reason, terminal_gone=self._gone))


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False

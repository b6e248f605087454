"""Drive the real counter: real simulator on a pty, real SQLite file, preview printer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from counter_app.config import Config, load_config
from counter_app.ui.app import CounterApp


@pytest.fixture
def counter_config(
    config_file: Callable[..., Path], tmp_path: Path, new_database: Callable[[Path], Path]
) -> Config:
    """The test station's configuration, on a new empty database (a copy of the one the
    migrations made for this test process: the app opens it without migrating). The
    app's own first start, creating and migrating its database, is
    tests/ui/test_first_start.py."""
    database = new_database(tmp_path / "counter.sqlite3")
    path = config_file(
        f"""
        [station]
        id = "MS01"
        name = "Milieustraat Test"
        [scale]
        port = "sim"
        # Silence is judged by the service's own tests; here a suite on two busy cores
        # can keep the simulator's thread from sending for longer than the 1.5 s a
        # counter waits before it calls its scale offline.
        offline_after_ms = 5000
        [printer]
        connection = "preview"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{database}"
        """
    )
    return load_config(path)


@pytest.fixture
def make_app(counter_config: Config) -> Callable[..., CounterApp]:
    def make(config: Config | None = None) -> CounterApp:
        return CounterApp(config or counter_config, demo_scenario=False)

    return make


@pytest.fixture(autouse=True)
def settle_instead_of_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Pilot.press`` and ``Pilot.pause()`` wait until the app has handled what it was
    given (``pilot_helpers.settle``), not until the process looks idle.

    Textual waits with ``textual._wait.wait_for_idle``: it sleeps in 20 ms steps until
    one step passes with under 1 ms of ``time.process_time()``, the CPU time of the
    whole process: every thread, not only the event loop's. Here the scale's reader
    thread decodes ten frames a second from the simulator, the simulator writes them
    in another thread, and the print worker polls its queue, so a 20 ms step seldom
    passes without 1 ms of CPU: a key waited 40 ms at least (it waits twice), 75 to
    100 ms here and up to half a second a key on a loaded machine, while the app drew
    every reading meanwhile. Nor does an idle process mean the app is done: a
    step can pass quietly while a message waits in a queue. ``settle`` looks at the app
    itself instead: every message queue empty and every screen laid out and painted.
    What other threads do later (a record written, a label printed) a test waits for
    by its result (``wait_for``).
    """
    import textual._queue
    import textual.app
    import textual.pilot
    from pilot_helpers import message_queued, settle
    from textual._context import active_app
    from textual.drivers.headless_driver import HeadlessDriver
    from textual.message import Message

    async def settled(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        # Called by Pilot and App._press_keys inside the app's context.
        await settle(active_app.get())

    def send_message(driver: HeadlessDriver, message: Message) -> None:
        # Pilot's keys: into the app's queue at once, where settle sees them, not in a
        # task of their own a turn of the event loop later.
        driver._app.post_message(message)

    queue_message = textual._queue.Queue.put_nowait

    def put_nowait(queue: textual._queue.Queue[object], message: object) -> None:
        # ``wait_for`` looks again once the app has something new to handle.
        queue_message(queue, message)
        message_queued()

    monkeypatch.setattr(textual._queue.Queue, "put_nowait", put_nowait)
    monkeypatch.setattr(textual.app, "wait_for_idle", settled)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", settled)
    monkeypatch.setattr(HeadlessDriver, "send_message", send_message)


@pytest.fixture
def brief_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database waits 1 s for another program's lock instead of the counter's 10 s.

    For the tests of a lock held until the refusal is shown: SQLite refuses in the same
    words after either wait, and the test does not sit out nine seconds of it.
    """
    import db.engine

    monkeypatch.setattr(db.engine, "BUSY_TIMEOUT_MS", 1000)

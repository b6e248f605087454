"""Waiting helpers for Pilot tests against the real simulator and database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen

from counter_app.services.scale import ScaleSnapshot, ScaleState
from counter_app.ui.app import CounterApp

#: How long the app may stay busy before a settle gives up (a handler that never
#: returns is a fault of the app, not a slow machine).
SETTLE_TIMEOUT_SECONDS = 30.0
#: How often ``wait_for`` looks again when no message came meanwhile.
POLL_SECONDS = 0.05
#: The first counter a test process starts imports the database, printer and scale
#: libraries in its workers: seconds of CPU, many more of wall time on a loaded machine.
READY_TIMEOUT_SECONDS = 30.0


def _is_idle(pump: MessagePump) -> bool:
    """``pump`` waits for its next message: nothing queued, nothing being handled.

    A pump's task waits on its queue's ``ready_event`` only when the queue is empty and
    it has finished the last message, its idle handlers and its ``call_next``
    callbacks; a pump not started yet, or handling something, does not wait there.
    """
    if pump._closed:
        return True
    queue = pump._message_queue
    waiters = queue.ready_event._waiters  # type: ignore[attr-defined]
    return queue.empty() and not pump._next_callbacks and any(not w.done() for w in waiters)


def _screen_is_dirty(screen: Screen[object], *, top: bool) -> bool:
    """``screen`` waits for its update timer (1/60 s) to lay out or paint, or holds
    callbacks that run after that refresh (``call_after_refresh``).

    A screen under the top one marks itself for a full repaint each time it hands its
    changes up (``Screen._compositor_refresh``), and only its own changes make it paint
    again: that mark alone is not work waiting.
    """
    return bool(
        screen._layout_required
        or screen._scroll_required
        or (top and screen._repaint_required)
        or screen._recompose_required
        or screen._dirty_widgets
        or screen._callbacks
    )


async def _handled(app: App[object], pumps: list[MessagePump], timeout: float) -> None:
    """Wait until each of ``pumps`` has handled what it has queued now (or the app
    failed, or ``timeout`` passed)."""
    waiting = {id(pump) for pump in pumps}
    done = asyncio.Event()

    def handled(pump_id: int) -> None:
        waiting.discard(pump_id)
        if not waiting:
            done.set()

    for pump in pumps:
        if not pump.call_later(handled, id(pump)):
            waiting.discard(id(pump))  # closing: it handles nothing more
    if not waiting:
        await asyncio.sleep(0)
        return
    waits = [
        asyncio.ensure_future(done.wait()),
        asyncio.ensure_future(app._exception_event.wait()),
    ]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def settle(app: App[object]) -> None:
    """Return once the app has handled everything it was given and drawn the result.

    Deterministic: every message pump of the app (the app, its screens, their widgets,
    also those still being mounted) waits on an empty queue, no screen waits to be laid
    out, painted or to run its after-refresh callbacks, and no animation runs. Work in
    other threads (the scale reader, a record or print worker) is not waited for: what
    it posts later is the test's to wait for (``wait_for``).
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while app._running and not app._exception_event.is_set():
        await app.animator.wait_until_complete()
        top = app.screen
        dirty = [
            screen
            for screen in app.screen_stack
            if screen.is_current
            and not app._batch_count
            and _screen_is_dirty(screen, top=screen is top)
        ]
        for screen in dirty:
            # What the screen's update timer would do at its next tick.
            screen._on_timer_update()
        pumps: list[MessagePump] = [app, *list(app._registry)]
        busy = [pump for pump in pumps if not _is_idle(pump)]
        if not busy and not dirty:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the app stays busy: {busy}")
        await _handled(app, busy, deadline - time.monotonic())


#: Waiters for the next message queued anywhere in the app (``message_queued``).
_message_waiters: list[asyncio.Future[None]] = []


def message_queued() -> None:
    """Wake every ``wait_for`` waiting for the app's next message. Called by Textual's
    message queue (tests/ui/conftest.py hooks it) in the event loop's thread: a message
    from another thread (a reading, a printer event) is queued through the loop."""
    while _message_waiters:
        waiter = _message_waiters.pop()
        if not waiter.done():
            waiter.set_result(None)


async def _next_message(timeout: float) -> None:
    waiter = asyncio.get_running_loop().create_future()
    _message_waiters.append(waiter)
    try:
        await asyncio.wait_for(waiter, timeout)
    except TimeoutError:
        pass
    finally:
        if waiter in _message_waiters:
            _message_waiters.remove(waiter)


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate`` holds (HIL: the pty and threads are real).

    Looked at again as soon as the app has handled a new message (a reading from the
    scale's thread, a worker's result, a printer event), and every ``POLL_SECONDS``
    for what changes without one; not at fixed steps, which kept every wait a
    half step longer than it had to be (about 50 ms a wait, 400 waits in the suite).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause()  # what the app has to handle now, handled and drawn
        if predicate():
            return
        # Nothing can be queued between the pause and here (no await): a message
        # that comes now wakes this wait.
        await _next_message(POLL_SECONDS)


async def ready(pilot, app: CounterApp) -> None:  # type: ignore[no-untyped-def]
    """Wait for the database and the simulator (held still, scenario off)."""

    t = app.messages.t
    before_first_printer_event = {t("printer.starting"), t("printer.unknown")}

    def started() -> bool:
        return (
            app.counter_service.is_open
            and app.scale_service.simulator is not None
            # The print worker has reported once: the status line will not change
            # under a snapshot any more.
            and app.printer_line not in before_first_printer_event
        )

    await wait_for(pilot, started, timeout=READY_TIMEOUT_SECONDS)


async def put_on_scale(  # type: ignore[no-untyped-def]
    pilot, app: CounterApp, weight: str, *, motion: bool = False, state: ScaleState
) -> None:
    sim = app.scale_service.simulator
    sim.set_motion(motion)
    sim.set_weight(Decimal(weight))

    def matches(snap: ScaleSnapshot | None) -> bool:
        if snap is None or snap.state is not state:
            return False
        if state in (ScaleState.STABLE, ScaleState.MOTION):
            return snap.reading is not None and snap.reading.weight == Decimal(weight)
        return True

    def shows() -> bool:
        # Both the service and the screen: a test that then presses Enter or takes a
        # screenshot must see what the attendant would see.
        return matches(app.scale_service.snapshot()) and matches(app.counter_screen._snapshot)

    shows.__doc__ = f"scale and screen showing {weight} kg {state.value}"
    await wait_for(pilot, shows)
    await pilot.pause()


async def screen_shows(pilot, app: CounterApp, state: ScaleState) -> None:  # type: ignore[no-untyped-def]
    """Wait until the counter screen itself shows ``state`` (not only the service)."""

    def shows() -> bool:
        snap = app.counter_screen._snapshot
        return (
            snap is not None and snap.state is state and app.scale_service.snapshot().state is state
        )

    shows.__doc__ = f"screen showing {state.value}"
    await wait_for(pilot, shows)
    await pilot.pause()


def screen_text(app: CounterApp) -> str:
    """Every character the attendant sees now (the screen, its modals, notifications),
    as plain text lines: the same composition a screenshot takes."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()

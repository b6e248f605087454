"""Waiting helpers for Pilot tests against the real simulator and database."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from counter_app.services.scale import ScaleSnapshot, ScaleState
from counter_app.ui.app import CounterApp


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate`` holds (HIL: the pty and threads are real)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(0.05)


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

    await wait_for(pilot, started)


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

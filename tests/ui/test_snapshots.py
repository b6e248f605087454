"""The counter screen as the attendant sees it, at 80x24: idle, stable, in motion, offline.

The scale is the real simulator on a pty; each state is reached through it before the
screenshot. Update after a deliberate change with ``pytest --snapshot-update`` and look
at the SVGs in ``tests/ui/__snapshots__``.
"""

from __future__ import annotations

from pilot_helpers import put_on_scale, ready, wait_for

from counter_app.services.scale import ScaleState


def test_idle(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "0.00", state=ScaleState.STABLE)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_stable(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "23.45", state=ScaleState.STABLE)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_in_motion(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "7.80", motion=True, state=ScaleState.MOTION)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_offline(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        app.scale_service.simulator.unplug()
        await wait_for(pilot, lambda: app.scale_service.snapshot().state is ScaleState.OFFLINE)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_picker(snap_compare, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await ready(pilot, app)
        await put_on_scale(pilot, app, "4.10", state=ScaleState.STABLE)
        await pilot.press("3", "h", "o")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

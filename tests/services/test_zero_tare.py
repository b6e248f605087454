"""Zero and tare pressed twice, no zero under a load: the rule without a screen, against
the real simulator on a pty."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from counter_app.config import ScaleConfig
from counter_app.services.scale import ScaleService, ScaleState
from counter_app.services.zero_tare import ZeroTareAnswer, ZeroTareCommand, ZeroTareGuard

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the simulator runs on a pty")

ZERO, TARE = ZeroTareCommand.ZERO, ZeroTareCommand.TARE


def settle(scale: ScaleService, kg: str) -> None:
    assert scale.simulator is not None
    scale.simulator.set_weight(Decimal(kg))
    deadline = time.monotonic() + 8
    while True:
        snap = scale.snapshot()
        if snap.state is ScaleState.STABLE and snap.reading and snap.reading.weight == Decimal(kg):
            return
        assert time.monotonic() < deadline, f"timed out waiting for {kg} kg stable"
        time.sleep(0.02)


@pytest.fixture
def nci() -> Iterator[ScaleService]:
    scale = ScaleService(ScaleConfig(port="sim", protocol="nci"), demo_scenario=False)
    scale.start()
    try:
        yield scale
    finally:
        scale.stop()


def test_pressed_twice_and_any_other_key_takes_it_back(nci: ScaleService) -> None:
    guard = ZeroTareGuard(nci)
    settle(nci, "0.10")
    assert guard.press(ZERO) is ZeroTareAnswer.ARMED
    guard.key_pressed("x")
    assert guard.armed is None
    assert guard.press(ZERO) is ZeroTareAnswer.ARMED
    assert guard.press(TARE) is ZeroTareAnswer.ARMED  # another command: armed anew
    assert guard.armed is TARE
    guard.key_pressed("t")  # its own key keeps it
    assert guard.press(TARE) is ZeroTareAnswer.SENT
    assert guard.armed is None


def test_no_zero_under_a_load_on_an_indicator_that_does_not_judge_it(nci: ScaleService) -> None:
    guard = ZeroTareGuard(nci)
    settle(nci, "12.00")
    assert guard.press(ZERO) is ZeroTareAnswer.LOADED
    assert guard.press(ZERO) is ZeroTareAnswer.LOADED
    # A tare of the container on the scale is what tare is for.
    assert guard.press(TARE) is ZeroTareAnswer.ARMED
    assert nci.simulator is not None and nci.simulator.snapshot().weight == Decimal("12.00")


def test_an_indicator_that_judges_its_zero_range_decides_itself() -> None:
    scale = ScaleService(ScaleConfig(port="sim", protocol="mt-sics"), demo_scenario=False)
    scale.start()
    try:
        guard = ZeroTareGuard(scale)
        settle(scale, "12.00")
        assert guard.press(ZERO) is ZeroTareAnswer.ARMED
        assert guard.press(ZERO) is ZeroTareAnswer.SENT
    finally:
        scale.stop()


def test_unsupported_and_not_connected() -> None:
    comma = ScaleService(ScaleConfig(port="sim"), demo_scenario=False)
    assert ZeroTareGuard(comma).press(ZERO) is ZeroTareAnswer.UNSUPPORTED
    not_started = ScaleService(ScaleConfig(port="sim", protocol="nci"), demo_scenario=False)
    assert ZeroTareGuard(not_started).press(TARE) is ZeroTareAnswer.NOT_CONNECTED

"""Every parser forgets a partial frame when the port is (re)opened."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.reading import IndicatorState
from drivers.scale.registry import PROTOCOL_NAMES, make_emulator, make_protocol


def _frame(name: str) -> bytes:
    emulator = make_emulator(name)
    state = IndicatorState(weight=Decimal("12.34"))
    request = make_protocol(name).weight_request()
    return emulator.receive(request, state) if request is not None else emulator.frame(state)


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_reset_drops_the_tail_of_the_last_connection(name: str) -> None:
    frame = _frame(name)
    fresh = make_protocol(name)
    expected = fresh.feed(frame) + fresh.finish()
    assert expected and expected[0].weight == Decimal("12.34")

    parser = make_protocol(name)
    parser.feed(frame[: len(frame) // 2])
    assert parser.unfinished()
    parser.reset()
    assert parser.unfinished() == b""
    assert parser.feed(frame) + parser.finish() == expected

"""Weights an indicator cannot show are bad frames, whatever protocol brought them.

A frame with forty digits, or a weight beyond the scale's capacity, is line noise or
a wrong pattern, not a load: it is reported like a garbled frame (``kind="error"``),
and converting any weight to grams never raises.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.protocol import ScaleProtocol
from drivers.scale.reading import DEFAULT_CAPACITY_KG, IndicatorState, Reading, to_grams
from drivers.scale.registry import PROTOCOL_NAMES, make_emulator, make_protocol
from drivers.scale.signal import UNREADABLE_ERRORS

FORTY_DIGITS = "1" * 40


def _frames(name: str, state: IndicatorState) -> list[Reading]:
    """What the parser of ``name`` reads from its own emulator showing ``state``."""
    return _parse(make_protocol(name), name, state)


def _parse(protocol: ScaleProtocol, name: str, state: IndicatorState) -> list[Reading]:
    emulator = make_emulator(name)
    request = protocol.weight_request()
    data = emulator.receive(request, state) if request is not None else emulator.frame(state)
    return protocol.feed(data) + protocol.finish()


class TestGrams:
    @pytest.mark.parametrize(
        "weight",
        [FORTY_DIGITS, "9" * 29, "1E+999999", "-1E+30", "1E-999999", "NaN", "Infinity"],
    )
    def test_reading_grams_never_raises(self, weight: str) -> None:
        assert Reading(Decimal(weight), "kg").grams is None

    def test_to_grams_says_what_is_wrong(self) -> None:
        with pytest.raises(ValueError, match="not a weight"):
            to_grams(Decimal(FORTY_DIGITS), "kg")

    def test_large_real_weights_still_convert(self) -> None:
        assert Reading(Decimal("100000.000"), "kg").grams == 100_000_000
        assert Reading(Decimal("99999999"), "g").grams == 99_999_999


class TestRegex:
    def test_forty_digits_are_a_bad_frame(self) -> None:
        frame = f"ST,GS,+{FORTY_DIGITS}kg\r\n".encode()
        (reading,) = make_protocol("regex").feed(frame)
        assert reading.kind == "error"
        assert reading.error == "range"
        assert reading.weight is None
        assert reading.raw == frame.rstrip()
        assert reading.grams is None

    def test_beyond_the_default_capacity(self) -> None:
        limit = DEFAULT_CAPACITY_KG
        ok, over, under = make_protocol("regex").feed(
            f"ST,GS,+{limit}kg\r\nST,GS,+{limit + 1}kg\r\nST,GS,-{limit + 1}kg\r\n".encode()
        )
        assert ok.kind == "weight" and ok.weight == limit
        assert (over.kind, over.error) == ("error", "range")
        assert (under.kind, under.error) == ("error", "range")

    def test_capacity_is_compared_in_grams(self) -> None:
        pattern = {"pattern": r"(?P<weight>[0-9.]+)(?P<unit>[a-z]+)"}
        protocol = make_protocol("regex", pattern, capacity_kg=Decimal(60000))
        readings = protocol.feed(b"60t\r\n61t\r\n60000000g\r\n60000001g\r\n132000lb\r\n")
        assert [r.kind for r in readings] == ["weight", "error", "weight", "error", "weight"]
        over = protocol.feed(b"133000lb\r\n")[0]  # 60327.8 kg
        assert over.error == "range"

    def test_a_unit_that_is_not_a_weight_is_bounded_by_its_digits(self) -> None:
        protocol = make_protocol("regex", {"unit": "pcs"})
        small, big = protocol.feed(f"ST,GS,+12\r\nST,GS,+{FORTY_DIGITS}\r\n".encode())
        assert small.kind == "weight"
        assert (big.kind, big.error) == ("error", "range")

    def test_a_range_error_counts_as_an_unreadable_frame(self) -> None:
        assert "range" in UNREADABLE_ERRORS


@pytest.mark.parametrize("name", PROTOCOL_NAMES)
def test_every_protocol_refuses_a_weight_beyond_capacity(name: str) -> None:
    # The emulators speak each protocol's own frame; 500 kg is within what every
    # format can show, and above a capacity of 100 kg.
    state = IndicatorState(weight=Decimal(500), decimals=0)
    assert any(r.kind == "weight" and r.weight == 500 for r in _frames(name, state))
    small = make_protocol(name, capacity_kg=Decimal(100))
    readings = _parse(small, name, state)
    assert readings
    assert not [r for r in readings if r.weight is not None]
    assert {(r.kind, r.error) for r in readings} == {("error", "range")}

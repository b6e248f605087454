"""Property tests for the polled protocols (MT-SICS, SMA, NCI).

What can be checked for any input: the parser never raises; every reading is well
formed (a weight reading always has a ``Decimal`` weight and a known unit, other
readings none); a bit flipped outside a frame's weight field never changes the
weight or unit read from it; and frames of the other protocols never read as a
weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scale.mt_sics import MtSicsEmulator, MtSicsProtocol
from drivers.scale.nci import NciEmulator, NciProtocol
from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol
from drivers.scale.reading import GRAMS_PER_UNIT, IndicatorState, Reading
from drivers.scale.sma import SmaEmulator, SmaProtocol
from tests.fuzzing import examples, fuzz

FUZZ = settings(max_examples=examples(200), deadline=None)

pytestmark = fuzz

PARSERS: dict[str, Callable[[], ScaleProtocol]] = {
    "mt-sics": MtSicsProtocol,
    "sma": SmaProtocol,
    "nci": NciProtocol,
}
EMULATORS: dict[str, Callable[[], IndicatorEmulator]] = {
    "mt-sics": MtSicsEmulator,
    "sma": SmaEmulator,
    "nci": NciEmulator,
}


@dataclass(frozen=True)
class Sample:
    """A well-formed frame and where its weight field lies."""

    protocol: str
    frame: bytes
    weight_field: tuple[int, int]  # [start, end) in ``frame``
    weight: Decimal
    unit: str


def _sample(protocol: str, frame: bytes, field: bytes, weight: str, unit: str) -> Sample:
    start = frame.index(field)
    return Sample(protocol, frame, (start, start + len(field)), Decimal(weight), unit)


SAMPLES = [
    _sample("mt-sics", b"S S     100.00 g\r\n", b"    100.00", "100.00", "g"),
    _sample("mt-sics", b"S D    -12.345 kg\r\n", b"   -12.345", "-12.345", "kg"),
    _sample("sma", b"\n 1G       5.025lb \r", b"     5.025", "5.025", "lb"),
    _sample("sma", b"\n 1NM     -7.650kg \r", b"    -7.650", "-7.650", "kg"),
    _sample("nci", b"\n0012.34lb\r\n00\r\x03", b"0012.34", "12.34", "lb"),
    _sample("nci", b"\n -12.34kg\r\n1p4\r\x03", b" -12.34", "-12.34", "kg"),
]

# Frames of every protocol the counter speaks, none of them MT-SICS, SMA or NCI.
FOREIGN_FRAMES: dict[str, list[bytes]] = {
    "comma": [b"ST,GS,+0012.34kg\r\n", b"US,NT,-0000.50kg\r\n", b"OL,GS,+9999.99kg\r\n"],
    # STX, status words A B C, six weight digits, six tare digits, CR.
    "toledo": [b"\x02" + b"4p " + b"001234" + b"000000" + b"\r"],
    "xk3190": [b"\x02+0012340" + b"1F" + b"\x03", b"=0.2100000="],
    "mt-sics": [b"S S     100.00 g\r\n", b"S D    -12.345 kg\r\n"],
    "sma": [b"\n 1G       5.025lb \r", b"\nZ1G       0.000lb \r"],
    "nci": [b"\n0012.34lb\r\n00\r\x03", b"\n -12.34kg\r\n1p4\r\x03"],
}


def assert_well_formed(readings: list[Reading]) -> None:
    for reading in readings:
        assert isinstance(reading, Reading)
        assert reading.kind in ("weight", "status", "error")
        assert isinstance(reading.raw, bytes)
        if reading.kind == "weight":
            assert isinstance(reading.weight, Decimal)
            assert reading.weight.is_finite()
            assert reading.unit in GRAMS_PER_UNIT
            assert reading.grams is not None
            assert reading.error is None
        else:
            assert reading.weight is None
        if reading.kind == "error":
            assert reading.error
        if reading.tare is not None:
            assert isinstance(reading.tare, Decimal)


protocol_names = st.sampled_from(sorted(PARSERS))


@FUZZ
@given(name=protocol_names, chunks=st.lists(st.binary(max_size=80), max_size=8))
def test_random_bytes_never_raise(name: str, chunks: list[bytes]) -> None:
    parser = PARSERS[name]()
    for chunk in chunks:
        assert_well_formed(parser.feed(chunk))


# Bytes that matter to the framing and fields, so the fuzzer reaches deep states.
protocol_alphabet = st.sampled_from(
    [
        *(b"\r", b"\n", b"\x03", b" ", b"S", b"D", b"I", b"+", b"-", b".", b"1", b"0", b"p"),
        *(b"4", b"kg", b"g", b"lb", b"G", b"N", b"M", b"Z", b"O", b"U", b"E", b"T", b"^", b"_"),
        b"?",
    ]
)


@FUZZ
@given(name=protocol_names, pieces=st.lists(protocol_alphabet, max_size=60))
def test_protocol_like_noise_never_raises(name: str, pieces: list[bytes]) -> None:
    parser = PARSERS[name]()
    assert_well_formed(parser.feed(b"".join(pieces)))


@FUZZ
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_valid_frames_cut_anywhere_read_the_same(sample: Sample, data: st.DataObject) -> None:
    stream = sample.frame * 3
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    parser = PARSERS[sample.protocol]()
    readings: list[Reading] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        readings += parser.feed(stream[start:end])
    assert_well_formed(readings)
    assert [(r.weight, r.unit) for r in readings] == [(sample.weight, sample.unit)] * 3


@FUZZ
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_flipped_bit_never_invents_a_weight(sample: Sample, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(sample.frame) - 1))
    bit = data.draw(st.integers(0, 7))
    damaged = bytearray(sample.frame)
    damaged[position] ^= 1 << bit
    parser = PARSERS[sample.protocol]()
    # The damaged frame, then good ones: a damaged terminator may cost the next frame,
    # but never more.
    readings = parser.feed(bytes(damaged) + sample.frame * 2)
    assert_well_formed(readings)
    start, end = sample.weight_field
    for reading in readings:
        if reading.kind == "weight" and not start <= position < end:
            assert (reading.weight, reading.unit) == (sample.weight, sample.unit)
    assert (readings[-1].weight, readings[-1].unit) == (sample.weight, sample.unit)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_single_bit_flip_of_every_sample(name: str) -> None:
    """The exhaustive version of the property above, for the samples of one protocol."""
    for sample in (s for s in SAMPLES if s.protocol == name):
        start, end = sample.weight_field
        for position in range(len(sample.frame)):
            for bit in range(8):
                damaged = bytearray(sample.frame)
                damaged[position] ^= 1 << bit
                readings = PARSERS[name]().feed(bytes(damaged) + sample.frame * 2)
                assert_well_formed(readings)
                outside = not start <= position < end
                for reading in readings:
                    if reading.kind == "weight" and outside:
                        assert (reading.weight, reading.unit) == (sample.weight, sample.unit)
                assert readings[-1].weight == sample.weight, (position, bit)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_other_protocols_frames_read_as_no_weight(name: str) -> None:
    for foreign, frames in FOREIGN_FRAMES.items():
        if foreign == name:
            continue
        for frame in frames:
            parser = PARSERS[name]()
            readings = parser.feed(frame) + parser.feed(frame)
            assert_well_formed(readings)
            assert not [r for r in readings if r.kind == "weight"], (foreign, frame)


# Emulator <-> parser round trip over random indicator states.

units = st.sampled_from(sorted(GRAMS_PER_UNIT))


@st.composite
def indicator_states(draw: st.DrawFn) -> IndicatorState:
    decimals = draw(st.integers(0, 3))
    scale = Decimal(1).scaleb(-decimals)
    weight = draw(st.integers(-99_999, 999_999)) * scale
    tare = draw(st.one_of(st.just(0), st.integers(0, 99_999))) * scale
    return IndicatorState(
        weight=weight,
        tare=Decimal(tare),
        unit=draw(units),
        decimals=decimals,
        motion=draw(st.booleans()),
        overload=draw(st.booleans()),
        underload=draw(st.booleans()),
    )


@FUZZ
@given(name=protocol_names, state=indicator_states())
def test_emulator_parser_round_trip(name: str, state: IndicatorState) -> None:
    parser = PARSERS[name]()
    parser.capacity_kg = Decimal(10**9)  # the format's whole range, not one site's scale
    reply = EMULATORS[name]().receive(parser.weight_request() or b"", state)
    (reading,) = parser.feed(reply)
    assert_well_formed([reading])
    if state.overload:
        assert (reading.overload, reading.weight) == (True, None)
        return
    if state.underload:
        assert (reading.underload, reading.weight) == (True, None)
        return
    assert reading.kind == "weight"
    assert reading.weight == state.displayed
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.net is (None if name == "mt-sics" else state.net)


@FUZZ
@given(name=protocol_names, state=indicator_states())
def test_zero_then_tare_round_trip(name: str, state: IndicatorState) -> None:
    parser, emulator = PARSERS[name](), EMULATORS[name]()
    was_blocked = state.motion or state.overload or state.underload
    before = (state.weight, state.tare)
    assert_well_formed(parser.feed(emulator.receive(parser.zero_request() or b"", state)))
    if was_blocked:
        assert (state.weight, state.tare) == before
        return
    assert state.weight == 0 and state.tare == 0
    state.weight = Decimal(5)
    assert_well_formed(parser.feed(emulator.receive(parser.tare_request() or b"", state)))
    assert state.tare == 5
    state.weight = Decimal(8)
    (reading,) = parser.feed(emulator.receive(parser.weight_request() or b"", state))
    assert reading.weight == Decimal(3)
    assert reading.net is (None if name == "mt-sics" else True)

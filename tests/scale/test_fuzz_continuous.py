"""Fuzzing the continuous-output parsers (Toledo, XK3190, regex) with hypothesis.

Properties: no input ever raises; valid frames cut anywhere or with bits flipped
never raise; a frame whose check fails never yields a weight; frames of other
protocols never yield a weight from the STX parsers.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.scale.protocol import ScaleProtocol
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.regex import RegexEmulator, RegexProtocol
from drivers.scale.toledo import ToledoEmulator, ToledoProtocol, checksum
from drivers.scale.xk3190 import Xk3190Emulator, Xk3190Protocol, xor_check
from tests.fuzzing import examples, fuzz

FUZZ = settings(max_examples=examples(200), deadline=None)

pytestmark = fuzz

PARSERS: dict[str, Callable[[], ScaleProtocol]] = {
    "toledo": ToledoProtocol,
    "toledo-checksum": lambda: ToledoProtocol({"checksum": "yes"}),
    "toledo-short": lambda: ToledoProtocol({"checksum": "no", "tare": "no"}),
    "xk3190": Xk3190Protocol,
    "xk3190-stx": lambda: Xk3190Protocol({"format": "stx"}),
    "xk3190-forward": lambda: Xk3190Protocol({"format": "scoreboard", "order": "forward"}),
    "regex": RegexProtocol,
    "regex-etx": lambda: RegexProtocol({"terminator": r"\x03", "pattern": r"(?P<weight>.*)"}),
}

OTHER_PROTOCOL_FRAMES = [
    b"ST,GS,+0012.34kg\r\n",  # comma format (A&D, Dini Argeo, generic)
    b"US,NT,-0001.50kg\r\n",
    b"S S     100.00 g\r\n",  # MT-SICS
    b"S D     100.00 g\r\n",
    b"\n1GS      12.340kg \r",  # SMA SCP-0499
    b"\n  12.34kg\r\nGR\r\n00\r\x03",  # NCI
]

states = st.builds(
    IndicatorState,
    weight=st.decimals(min_value=-9999, max_value=9999, places=2, allow_nan=False),
    tare=st.sampled_from([Decimal("0.00"), Decimal("1.50"), Decimal("20.00")]),
    motion=st.booleans(),
    decimals=st.integers(min_value=0, max_value=4),
)


def toledo_frames(state: IndicatorState) -> bytes:
    return ToledoEmulator().frame(state)


def xk3190_stx_frames(state: IndicatorState) -> bytes:
    return Xk3190Emulator({"format": "stx"}).frame(state)


def feed_all(parser: ScaleProtocol, chunks: list[bytes]) -> list[Reading]:
    return [reading for chunk in chunks for reading in parser.feed(chunk)]


def toledo_check_passes(raw: bytes) -> bool:
    return len(raw) in (12, 18) and checksum(raw[:-1]) == raw[-1] & 0x7F


def xk3190_check_passes(raw: bytes) -> bool:
    if raw[:1] == b"\x02":
        return len(raw) == 12 and xor_check(raw[1:9]) == raw[9:11]
    if raw[:1] == b"W":
        return xor_check(raw[:11]) == raw[11:13]
    return True  # the '=' and ww formats carry no check


# -- any bytes -----------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300), name=st.sampled_from(sorted(PARSERS)))
def test_random_bytes_never_raise(data: bytes, name: str) -> None:
    readings = PARSERS[name]().feed(data)
    assert all(isinstance(r, Reading) for r in readings)
    assert all(r.weight is None or isinstance(r.weight, Decimal) for r in readings)


@FUZZ
@given(
    chunks=st.lists(st.binary(max_size=40), max_size=12),
    name=st.sampled_from(sorted(PARSERS)),
)
def test_random_chunks_never_raise(chunks: list[bytes], name: str) -> None:
    feed_all(PARSERS[name](), chunks)


# -- valid frames, cut and damaged ---------------------------------------------------


FRAME_MAKERS: dict[str, tuple[Callable[[IndicatorState], bytes], Callable[[], ScaleProtocol]]] = {
    "toledo": (toledo_frames, ToledoProtocol),
    "xk3190-stx": (xk3190_stx_frames, lambda: Xk3190Protocol({"format": "stx"})),
    "xk3190-scoreboard": (
        lambda s: Xk3190Emulator({"format": "scoreboard"}).frame(s),
        lambda: Xk3190Protocol({"format": "scoreboard"}),
    ),
    "xk3190-a12": (lambda s: Xk3190Emulator({"format": "a12"}).frame(s), Xk3190Protocol),
    "regex": (lambda s: RegexEmulator().frame(s), RegexProtocol),
}


@FUZZ
@given(state=states, name=st.sampled_from(sorted(FRAME_MAKERS)), data=st.data())
def test_frames_cut_anywhere_never_raise(
    state: IndicatorState, name: str, data: st.DataObject
) -> None:
    make, parser_factory = FRAME_MAKERS[name]
    frame = make(state)
    stream = frame * 3
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    readings = feed_all(parser_factory(), pieces)
    # However it is cut, the stream holds the same complete frames.
    whole = parser_factory().feed(stream)
    assert readings == whole
    # A frame cut short never gives a weight on its own.
    truncated = frame[: data.draw(st.integers(0, len(frame) - 2))]
    assert not [r for r in parser_factory().feed(truncated) if r.kind == "weight"]


@FUZZ
@given(state=states, name=st.sampled_from(sorted(FRAME_MAKERS)), data=st.data())
def test_frames_with_flipped_bits_never_raise(
    state: IndicatorState, name: str, data: st.DataObject
) -> None:
    make, parser_factory = FRAME_MAKERS[name]
    frame = bytearray(make(state) * 2)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(frame) - 1))
        frame[index] ^= 1 << data.draw(st.integers(0, 7))
    for reading in parser_factory().feed(bytes(frame)):
        assert reading.weight is None or isinstance(reading.weight, Decimal)
        assert reading.kind == "weight" or reading.weight is None


@FUZZ
@given(state=states, data=st.data())
def test_flipped_bits_never_give_a_weight_with_a_failing_toledo_checksum(
    state: IndicatorState, data: st.DataObject
) -> None:
    frame = bytearray(toledo_frames(state))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(frame) - 1))
        frame[index] ^= 1 << data.draw(st.integers(0, 7))
    for options in ({"checksum": "yes"}, {}):
        readings = ToledoProtocol(options).feed(bytes(frame) + toledo_frames(state))
        for reading in readings:
            if reading.kind == "weight":
                assert toledo_check_passes(reading.raw), reading


@FUZZ
@given(state=states, data=st.data())
def test_flipped_bits_never_give_a_weight_with_a_failing_xk3190_check(
    state: IndicatorState, data: st.DataObject
) -> None:
    fmt = data.draw(st.sampled_from(["stx", "a12"]))
    frame = bytearray(Xk3190Emulator({"format": fmt}).frame(state))
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(frame) - 1))
        frame[index] ^= 1 << data.draw(st.integers(0, 7))
    for options in ({"format": fmt if fmt == "stx" else "ascii"}, {}):
        for reading in Xk3190Protocol(options).feed(bytes(frame)):
            if reading.kind == "weight":
                assert xk3190_check_passes(reading.raw), reading


@FUZZ
@given(state=states, data=st.data())
def test_a_failing_check_never_yields_a_weight(state: IndicatorState, data: st.DataObject) -> None:
    """Replace the check with any other value: the frame is an error, never a weight."""
    good = toledo_frames(state)
    toledo = bytearray(good)
    toledo[-1] = data.draw(st.integers(0, 0x7F).filter(lambda c: c != good[-1]))
    for options in ({"checksum": "yes"}, {}):
        # The next frame follows, as on the line (auto mode needs it to place an STX).
        readings = ToledoProtocol(options).feed(bytes(toledo) + good + good)
        assert (readings[0].kind, readings[0].error) == ("error", "checksum")
        assert all(r.raw == good for r in readings[1:] if r.kind == "weight")
        assert len(readings) >= 2

    stx = bytearray(xk3190_stx_frames(state))
    hex_digits = b"0123456789ABCDEF"
    high, low = data.draw(
        st.tuples(st.sampled_from(hex_digits), st.sampled_from(hex_digits)).filter(
            lambda pair: bytes(pair) != bytes(stx[9:11])
        )
    )
    stx[9], stx[10] = high, low
    readings = Xk3190Protocol({"format": "stx"}).feed(bytes(stx))
    assert [(r.kind, r.error) for r in readings] == [("error", "checksum")]


# -- frames of other protocols -------------------------------------------------------


@FUZZ
@given(
    frames=st.lists(st.sampled_from(OTHER_PROTOCOL_FRAMES), min_size=1, max_size=6),
    cut=st.integers(0, 200),
)
def test_other_protocols_give_no_weight_from_the_stx_parsers(frames: list[bytes], cut: int) -> None:
    stream = b"".join(frames)
    cut = min(cut, len(stream))
    for factory in (
        ToledoProtocol,
        lambda: ToledoProtocol({"checksum": "no"}),
        lambda: Xk3190Protocol({"format": "stx"}),
    ):
        parser = factory()
        readings = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
        assert not [r for r in readings if r.kind == "weight"], readings

"""XK3190 / Keli continuous formats: parser and emulator, against the manuals' examples."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import reduce
from operator import xor

import pytest

from drivers.scale.protocol import ProtocolOptionError
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from drivers.scale.xk3190 import Xk3190Emulator, Xk3190Protocol, xor_check
from scale import chunking

STX = b"\x02"
ETX = b"\x03"


def manual_check(data: bytes) -> bytes:
    """XOR of the bytes; each nibble + 30h when 0-9, + 37h when A-F (high nibble first)."""
    value = reduce(xor, data, 0)
    return bytes(n + (0x30 if n <= 9 else 0x37) for n in (value >> 4, value & 0x0F))


def stx_frame(sign: str = "+", digits: str = "001234", decimals: str = "2") -> bytes:
    body = f"{sign}{digits}{decimals}".encode("ascii")
    return STX + body + manual_check(body) + ETX


def parse(data: bytes, options: Mapping[str, str] | None = None) -> list[Reading]:
    return Xk3190Protocol(options).feed(data)


def only(readings: list[Reading]) -> Reading:
    assert len(readings) == 1, readings
    return readings[0]


def assert_same_in_any_chunking(data: bytes, options: Mapping[str, str] | None = None) -> None:
    chunking.assert_same_in_any_chunking(lambda: Xk3190Protocol(options), data)


# -- registry and options ------------------------------------------------------------


def test_registry_builds_parser_and_emulator() -> None:
    parser = make_protocol("xk3190")
    assert isinstance(parser, Xk3190Protocol)
    assert parser.polled is False
    assert (parser.serial_defaults.bytesize, parser.serial_defaults.parity) == (8, "N")
    assert isinstance(make_emulator("xk3190"), Xk3190Emulator)


@pytest.mark.parametrize(
    "options", [{"format": "binary"}, {"order": "backwards"}, {"unit": "k g"}, {"speed": "1"}]
)
def test_wrong_options_are_refused_by_name(options: dict[str, str]) -> None:
    with pytest.raises(ProtocolOptionError, match=next(iter(options))):
        Xk3190Protocol(options)


# -- (a) STX format ------------------------------------------------------------------


def test_xor_check_encoding_from_the_manual() -> None:
    # '+0012342': 2B^30^30^31^32^33^34^32 = 1D -> '1' (31h) and 'D' (0Dh + 37h = 44h)
    assert xor_check(b"+0012342") == b"1D"
    assert manual_check(b"+0012342") == b"1D"
    # nibbles 0-9 are digits: 0x36 -> '3', '6'
    assert xor_check(b"6") == b"36"


def test_stx_frame() -> None:
    frame = STX + b"+0012342" + b"1D" + ETX
    assert frame == stx_frame()
    reading = only(parse(frame, {"format": "stx"}))
    assert reading.kind == "weight"
    assert reading.weight == Decimal("12.34")
    assert str(reading.weight) == "12.34"
    assert reading.unit == "kg"
    assert reading.stable is None  # no motion flag in this format
    assert reading.net is None
    assert reading.raw == frame


@pytest.mark.parametrize(
    ("sign", "digits", "decimals", "weight"),
    [
        ("+", "001234", "0", "1234"),
        ("+", "001234", "1", "123.4"),
        ("+", "001234", "3", "1.234"),
        ("+", "001234", "4", "0.1234"),
        ("-", "000150", "2", "-1.50"),
        ("-", "000000", "2", "0.00"),
        ("+", "  1234", "0", "1234"),
    ],
)
def test_stx_signs_and_decimals(sign: str, digits: str, decimals: str, weight: str) -> None:
    reading = only(parse(stx_frame(sign, digits, decimals)))
    assert reading.weight == Decimal(weight)
    assert str(reading.weight) == weight


def test_stx_unit_option() -> None:
    assert only(parse(stx_frame(), {"unit": "t"})).unit == "t"


def test_stx_bad_check_is_a_checksum_error() -> None:
    frame = STX + b"+0012342" + b"1E" + ETX
    reading = only(parse(frame))
    assert (reading.kind, reading.error, reading.weight) == ("error", "checksum", None)


def test_stx_corrupted_digit_fails_the_check() -> None:
    frame = stx_frame().replace(b"001234", b"001734")
    assert only(parse(frame)).error == "checksum"


@pytest.mark.parametrize(
    "frame",
    [
        stx_frame(sign="*"),
        stx_frame(digits="0012a4"),
        stx_frame(decimals="7"),
        STX + b"+0012342" + b"1d" + ETX,  # lower-case check characters
        STX + b"+001234" + b"1D" + ETX,  # one byte short
        STX + b"+00123421D" + b"X" + ETX,  # no ETX where it belongs
    ],
)
def test_stx_malformed_frames_are_unreadable(frame: bytes) -> None:
    readings = parse(frame, {"format": "stx"})
    assert readings
    assert all(r.kind == "error" and r.weight is None for r in readings)
    assert readings[0].error == "unreadable"


def test_stx_frame_cut_by_the_next_stx() -> None:
    frame = stx_frame()
    readings = parse(frame[:5] + frame)
    assert [r.kind for r in readings] == ["error", "weight"]


# -- (b) '=' scoreboard format -------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "order", "weight"),
    [
        # XK3190-A26 continuous format 1 / A23P format 2 (lowest digit first)
        (b"=000.3000=000.3000=000.3000", "reversed", "3.000"),
        (b"=00.1000-=00.1000-=00.1000-", "reversed", "-1.00"),
        # XK3190-A26 continuous format 2 (highest digit first)
        (b"=0003.000=0003.000=0003.000", "forward", "3.000"),
        (b"=-0001.00=-0001.00=-0001.00", "forward", "-1.00"),
        (b"=4321000=4321000=", "reversed", None),  # too short: unreadable
    ],
)
def test_scoreboard_examples(frames: bytes, order: str, weight: str | None) -> None:
    readings = parse(frames, {"format": "scoreboard", "order": order})
    if weight is None:
        assert all(r.kind == "error" for r in readings)
        return
    assert [str(r.weight) for r in readings] == [weight] * 3
    assert all(r.stable is None and r.unit == "kg" for r in readings)


def test_scoreboard_is_reversed_by_default() -> None:
    assert only(parse(b"=000.3000")).weight == Decimal("3.000")


def test_scoreboard_without_decimal_point() -> None:
    assert only(parse(b"=43210000")).weight == Decimal("1234")


@pytest.mark.parametrize("frame", [b"=000.300X", b"=00.10001", b"=0.0.3000", b"=       0"])
def test_scoreboard_malformed(frame: bytes) -> None:
    reading = only(parse(frame, {"format": "scoreboard"}))
    assert (reading.kind, reading.error) == ("error", "unreadable")


# -- (c) ASCII lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "weight", "unit", "net"),
    [
        (b"ww0015.000kg\r\n", "15.000", "kg", False),  # LUW2001 "A format", gross
        (b"wn0015.000kg\r\n", "15.000", "kg", True),  # net
        (b"ww-0015.000kg\r\n", "-15.000", "kg", False),
        (b"ww000.000lb\r\n", "0.000", "lb", False),  # XK3190-A12 lines
        (b"wn-0000.1kg\r\n", "-0.1", "kg", True),
        (b"ww000123.4kg\r\n", "123.4", "kg", False),
    ],
)
def test_ascii_ww_lines(line: bytes, weight: str, unit: str, net: bool) -> None:
    reading = only(parse(line, {"format": "ascii"}))
    assert reading.weight == Decimal(weight)
    assert str(reading.weight) == weight
    assert (reading.unit, reading.net, reading.stable) == (unit, net, None)
    assert reading.raw == line.rstrip(b"\r\n")


def test_ascii_tare_line_carries_the_tare_only() -> None:
    reading = only(parse(b"wt001.500kg\r\n"))
    assert reading.kind == "status"
    assert reading.weight is None
    assert reading.tare == Decimal("1.500")


def test_a12_example_from_the_manual() -> None:
    # XK3190-A12(E): 57 47 30 30 34 2E 31 33 39 6B 67 33 44 0D 0A
    line = bytes.fromhex("5747303034 2E3133396B6733440D0A")
    assert line == b"WG004.139kg3D\r\n"
    reading = only(parse(line, {"format": "ascii"}))
    assert reading.weight == Decimal("4.139")
    assert (reading.unit, reading.net, reading.stable) == ("kg", False, None)


def test_a12_overload_and_under_zero_from_the_manual() -> None:
    over, under = parse(b"         OL23\r\n         LO23\r\n", {"format": "ascii"})
    assert (over.kind, over.weight, over.overload, over.underload) == ("status", None, True, False)
    assert (under.kind, under.weight, under.overload, under.underload) == (
        "status",
        None,
        False,
        True,
    )


@pytest.mark.parametrize("line", [b"WG004.139kg3E\r\n", b"WG004.138kg3D\r\n", b"         OL24\r\n"])
def test_a12_bad_check_is_a_checksum_error(line: bytes) -> None:
    reading = only(parse(line))
    assert (reading.kind, reading.error, reading.weight) == ("error", "checksum", None)


def test_a12_net_negative_and_no_decimal_point() -> None:
    body = b"WN-01234 kg"
    reading = only(parse(body + xor_check(body) + b"\r\n"))
    assert reading.weight == Decimal("-1234")
    assert reading.net is True


@pytest.mark.parametrize(
    "line", [b"wx0015.000kg\r\n", b"ww00a5.000kg\r\n", b"ww0015.000\r\n", b"ww15..0kg\r\n"]
)
def test_ascii_malformed_lines(line: bytes) -> None:
    reading = only(parse(line))
    assert (reading.kind, reading.error) == ("error", "unreadable")


# -- format selection and mixed streams ----------------------------------------------


def test_format_option_limits_what_is_read() -> None:
    assert not [r for r in parse(b"=000.3000" * 6, {"format": "stx"}) if r.kind == "weight"]
    assert not [r for r in parse(stx_frame() * 3, {"format": "ascii"}) if r.kind == "weight"]
    assert not [r for r in parse(b"ww0015.000kg\r\n", {"format": "stx"}) if r.kind == "weight"]


def test_other_protocols_give_no_weight() -> None:
    for data in (b"ST,GS,+0012.34kg\r\n", b"S S     100.00 g\r\n"):
        for fmt in ("stx", "auto"):
            readings = parse(data, {"format": fmt})
            assert readings
            assert all(r.kind == "error" for r in readings)


def test_manual_examples_in_any_chunking() -> None:
    stream = (
        b"000-"  # the tail of a frame cut off when the port opened
        + stx_frame()
        + stx_frame("-", "000150", "2")
        + b"=000.3000=00.1000-"
        + b"ww0015.000kg\r\nwn0015.000kg\r\n"
        + b"WG004.139kg3D\r\n         OL23\r\n"
    )
    assert_same_in_any_chunking(stream)
    readings = parse(stream)
    assert [r.kind for r in readings] == ["error"] + ["weight"] * 7 + ["status"]


# -- emulator round trip -------------------------------------------------------------


STATES = [
    IndicatorState(),
    IndicatorState(weight=Decimal("12.34")),
    IndicatorState(weight=Decimal("-1.00")),
    IndicatorState(weight=Decimal("3.000"), decimals=3),
    IndicatorState(weight=Decimal("14520"), decimals=0),
    IndicatorState(weight=Decimal("80.5"), tare=Decimal("20.0"), decimals=1),
    IndicatorState(weight=Decimal("0.1234"), decimals=4, motion=True),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    ("options", "reads_net"),
    [
        ({"format": "stx"}, False),
        ({"format": "scoreboard"}, False),
        ({"format": "scoreboard", "order": "forward"}, False),
        ({"format": "ascii"}, True),
        ({"format": "a12"}, True),
    ],
)
def test_emulator_frames_parse_back_to_the_display(
    state: IndicatorState, options: dict[str, str], reads_net: bool
) -> None:
    frame = Xk3190Emulator(options).frame(state)
    parser_options = {"order": options.get("order", "reversed")}
    reading = only(parse(frame * 2, parser_options)[:1])
    assert reading.kind == "weight"
    assert reading.weight == state.displayed
    assert reading.unit == state.unit
    assert reading.stable is None
    assert reading.net is (state.net if reads_net else None)


def test_emulator_stx_frame_is_the_manual_layout() -> None:
    frame = Xk3190Emulator().frame(IndicatorState(weight=Decimal("12.34")))
    assert frame == STX + b"+0012342" + b"1D" + ETX


def test_emulator_scoreboard_matches_the_a26_examples() -> None:
    reversed_ = Xk3190Emulator({"format": "scoreboard"})
    forward = Xk3190Emulator({"format": "scoreboard", "order": "forward"})
    three = IndicatorState(weight=Decimal("3.000"), decimals=3)
    minus_one = IndicatorState(weight=Decimal("-1.00"))
    assert reversed_.frame(three) == b"=000.3000"
    assert reversed_.frame(minus_one) == b"=00.1000-"
    assert forward.frame(three) == b"=0003.000"
    assert forward.frame(minus_one) == b"=-0001.00"


def test_emulator_a12_matches_the_manual_example() -> None:
    state = IndicatorState(weight=Decimal("4.139"), decimals=3)
    assert Xk3190Emulator({"format": "a12"}).frame(state) == b"WG004.139kg3D\r\n"


@pytest.mark.parametrize("fmt", ["ascii", "a12"])
def test_emulator_overload_lines(fmt: str) -> None:
    emulator = Xk3190Emulator({"format": fmt})
    assert emulator.frame(IndicatorState(overload=True)) == b"         OL23\r\n"
    over = only(parse(emulator.frame(IndicatorState(overload=True))))
    under = only(parse(emulator.frame(IndicatorState(underload=True))))
    assert (over.overload, under.underload) == (True, True)
    assert over.weight is under.weight is None


def test_emulator_refuses_what_the_format_cannot_say() -> None:
    with pytest.raises(ValueError, match="decimals"):
        Xk3190Emulator().frame(IndicatorState(decimals=5))
    with pytest.raises(ValueError, match="unit"):
        Xk3190Emulator({"format": "a12"}).frame(IndicatorState(unit="g"))
    with pytest.raises(ProtocolOptionError):
        Xk3190Emulator({"format": "morse"})


# -- the end of the input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "held"),
    [
        (stx_frame() + stx_frame()[:6], {}, stx_frame()[:6]),  # STX format, no ETX yet
        (b"=000.3000=000.", {}, b"=000."),  # scoreboard, five of its nine characters
        (b"ww0015.000kg\r\nww0016.0", {"format": "ascii"}, b"ww0016.0"),  # no line end
    ],
)
def test_a_cut_off_last_frame_is_incomplete(
    data: bytes, options: dict[str, str], held: bytes
) -> None:
    parser = Xk3190Protocol(options)
    assert len(parser.feed(data)) == 1
    assert parser.unfinished() == held
    assert parser.finish() == [Reading.unreadable(held, error="incomplete")]


def test_nothing_held_after_whole_frames() -> None:
    parser = Xk3190Protocol()
    parser.feed(stx_frame() + b"=000.3000" + b"ww0015.000kg\r\n")
    assert parser.unfinished() == b""
    assert parser.finish() == []

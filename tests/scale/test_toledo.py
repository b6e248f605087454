"""Toledo standard continuous output: parser and emulator, against the manual's tables."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from drivers.scale.protocol import ProtocolOptionError
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from drivers.scale.toledo import ToledoEmulator, ToledoProtocol, checksum, decode_status_a
from scale import chunking

STX = 0x02
CR = 0x0D

# Status A: bit 5 always 1, count by 1 (bits 4..3 = 01), decimal point code in bits 2..0.
A_TWO_DECIMALS = 0x20 | 0x08 | 0b100  # XXXX.XX
# Status B: bit 5 always 1, bit 4 kg; gross, positive, in range, no motion.
B_KG = 0x20 | 0x10
# Status C: bit 5 always 1, units from status B.
C_PLAIN = 0x20


def manual_checksum(body: bytes) -> int:
    """Two's complement of the 7-bit sum of all characters, STX and CR included."""
    total = sum(b & 0x7F for b in body) & 0x7F
    return (0x80 - total) & 0x7F


def toledo_frame(
    a: int = A_TWO_DECIMALS,
    b: int = B_KG,
    c: int = C_PLAIN,
    weight: bytes = b"001234",
    tare: bytes | None = b"000000",
    with_checksum: bool = True,
) -> bytes:
    body = bytes((STX, a, b, c)) + weight + (tare or b"") + bytes((CR,))
    return body + bytes((manual_checksum(body),)) if with_checksum else body


def parse(data: bytes, options: Mapping[str, str] | None = None) -> list[Reading]:
    return ToledoProtocol(options).feed(data)


def assert_same_in_any_chunking(data: bytes, options: Mapping[str, str] | None = None) -> None:
    chunking.assert_same_in_any_chunking(lambda: ToledoProtocol(options), data)


def only(readings: list[Reading]) -> Reading:
    assert len(readings) == 1, readings
    return readings[0]


# -- registry and options ------------------------------------------------------------


def test_registry_builds_parser_and_emulator() -> None:
    parser = make_protocol("toledo")
    assert isinstance(parser, ToledoProtocol)
    assert parser.polled is False
    assert parser.weight_request() is None
    assert parser.serial_defaults.baudrate == 9600
    emulator = make_emulator("toledo")
    assert isinstance(emulator, ToledoEmulator)
    assert emulator.continuous is True


@pytest.mark.parametrize(
    "options",
    [{"checksum": "maybe"}, {"tare": "sometimes"}, {"power_up": "no"}, {"baud": "9600"}],
)
def test_wrong_options_are_refused_by_name(options: dict[str, str]) -> None:
    with pytest.raises(ProtocolOptionError, match=next(iter(options))):
        ToledoProtocol(options)


# -- the checksum --------------------------------------------------------------------


def test_checksum_is_the_twos_complement_of_the_seven_bit_sum() -> None:
    body = bytes((STX, 0x34, 0x30, 0x20)) + b"001234" + b"000000" + bytes((CR,))
    # 02+34+30+20 + 6*30+0A + 6*30 + 0D = 2DD; low 7 bits 5D; 80h - 5Dh = 23h
    assert checksum(body) == 0x23
    assert (sum(body) + checksum(body)) & 0x7F == 0


def test_good_checksum_gives_the_weight() -> None:
    reading = only(parse(toledo_frame(), {"checksum": "yes"}))
    assert reading.kind == "weight"
    assert reading.weight == Decimal("12.34")
    assert reading.unit == "kg"
    assert reading.stable is True
    assert reading.net is False
    assert reading.tare == Decimal("0.00")
    assert reading.overload is reading.underload is False
    assert reading.raw == toledo_frame()


@pytest.mark.parametrize("mode", ["yes", "auto"])
def test_bad_checksum_gives_an_error_and_never_a_weight(mode: str) -> None:
    frame = toledo_frame()
    bad = frame[:-1] + bytes(((frame[-1] + 1) & 0x7F,))
    reading = only(parse(bad, {"checksum": mode}))
    assert reading.kind == "error"
    assert reading.error == "checksum"
    assert reading.weight is None
    assert reading.raw == bad


def test_a_corrupted_digit_fails_the_checksum() -> None:
    frame = bytearray(toledo_frame())
    frame[6] = ord("9")  # 001234 -> 009234, checksum unchanged
    reading = only(parse(bytes(frame)))
    assert (reading.kind, reading.error, reading.weight) == ("error", "checksum", None)


def test_without_checksum_frames_follow_each_other() -> None:
    frames = toledo_frame(with_checksum=False) * 3
    readings = parse(frames, {"checksum": "no"})
    assert [r.weight for r in readings] == [Decimal("12.34")] * 3


def test_auto_detects_a_missing_checksum_when_the_next_frame_starts() -> None:
    frames = toledo_frame(with_checksum=False) * 3
    readings = parse(frames)
    # The last frame waits for the bytes after its CR: an STX there may still be
    # its checksum, until the byte after it is a status word rather than another STX.
    assert [r.weight for r in readings] == [Decimal("12.34")] * 2
    parser = ToledoProtocol()
    parser.feed(frames)
    assert parser.feed(b"\x02") == []
    assert [r.weight for r in parser.feed(bytes((A_TWO_DECIMALS,)))] == [Decimal("12.34")]


def test_auto_detects_a_present_checksum() -> None:
    readings = parse(toledo_frame() * 3)
    assert [r.weight for r in readings] == [Decimal("12.34")] * 3


def _frame_with_checksum_02() -> bytes:
    """A body whose checksum byte is 02h, the same as STX: the lowest such weight.

    The checksum depends on the sum of the weight's digits only, so one weight per
    digit sum is tried (the lowest with that sum: its remainder digit, then nines).
    """
    for digit_sum in range(6 * 9 + 1):
        nines, rest = divmod(digit_sum, 9)
        weight = (str(rest) + "9" * nines).rjust(6, "0")[-6:].encode()
        body = toledo_frame(weight=weight, with_checksum=False)
        if checksum(body) == STX:
            return body
    raise AssertionError("no weight gives checksum 02h")


def test_auto_tells_a_checksum_of_02h_from_the_next_frames_stx() -> None:
    body = _frame_with_checksum_02()
    expected = only(parse(body + b"\x02", {"checksum": "yes"})).weight
    assert expected is not None
    with_checksum = parse(body + b"\x02" + body + b"\x02" + toledo_frame())
    assert [r.weight for r in with_checksum] == [expected, expected, Decimal("12.34")]
    assert all(r.kind == "weight" for r in with_checksum)
    without_checksum = parse(body + body + toledo_frame(with_checksum=False) + b"\x02\x34")
    assert [r.weight for r in without_checksum] == [expected, expected, Decimal("12.34")]
    assert_same_in_any_chunking(body + b"\x02" + body + b"\x02" + toledo_frame())


def test_after_a_verified_checksum_a_missing_one_is_an_error() -> None:
    data = toledo_frame() + toledo_frame(with_checksum=False) + toledo_frame()
    readings = parse(data)
    assert readings[0].weight == Decimal("12.34")
    # The second frame's "checksum" is the third frame's STX: it fails.
    assert readings[1].error == "checksum"
    assert all(r.kind != "weight" for r in readings[1:])


def test_auto_reads_a_damaged_checksum_of_02h_as_a_checksum_error() -> None:
    frame = toledo_frame()
    assert frame[-1] != STX
    damaged = frame[:-1] + b"\x02"
    readings = parse(damaged + frame)
    assert [(r.kind, r.error) for r in readings] == [("error", "checksum"), ("weight", None)]


def test_checksum_yes_never_accepts_a_frame_without_one() -> None:
    data = toledo_frame(with_checksum=False) * 4
    assert not [r for r in parse(data, {"checksum": "yes"}) if r.kind == "weight"]


# -- status word A: decimal point and increment --------------------------------------


@pytest.mark.parametrize(
    ("code", "weight"),
    [
        (0b000, "1234"),  # XXXX00: dummy zeros, the digits as sent
        (0b001, "1234"),  # XXXXX0
        (0b010, "1234"),  # XXXXXX
        (0b011, "123.4"),
        (0b100, "12.34"),
        (0b101, "1.234"),
        (0b110, "0.1234"),
        (0b111, "0.01234"),
    ],
)
def test_decimal_point_location_code(code: int, weight: str) -> None:
    reading = only(parse(toledo_frame(a=0x20 | 0x08 | code)))
    assert reading.weight == Decimal(weight)
    assert str(reading.weight) == weight  # exact, with the display's decimals


@pytest.mark.parametrize(
    ("status_a", "decimals", "increment"),
    [
        (0x20 | 0x08 | 0b001, 0, Decimal(10)),  # x1 with one dummy zero
        (0x20 | 0x10 | 0b001, 0, Decimal(20)),  # x2
        (0x20 | 0x18 | 0b001, 0, Decimal(50)),  # x5
        (0x20 | 0x08 | 0b000, 0, Decimal(100)),  # two dummy zeros
        (0x20 | 0x18 | 0b000, 0, Decimal(500)),
        (0x20 | 0x08 | 0b010, 0, Decimal(1)),
        (0x20 | 0x10 | 0b100, 2, Decimal("0.02")),
        (0x20 | 0x18 | 0b111, 5, Decimal("0.00005")),
        (0x20 | 0x00 | 0b100, 2, None),  # count-by code 00 is not used
    ],
)
def test_status_a_gives_decimals_and_increment(
    status_a: int, decimals: int, increment: Decimal | None
) -> None:
    assert decode_status_a(status_a) == (decimals, increment)
    assert decode_status_a(status_a | 0x80) == (decimals, increment)  # parity bit


# -- status word B -------------------------------------------------------------------


def test_net_flag() -> None:
    assert only(parse(toledo_frame(b=B_KG | 0x01))).net is True
    assert only(parse(toledo_frame(b=B_KG))).net is False


def test_negative_sign() -> None:
    assert only(parse(toledo_frame(b=B_KG | 0x02))).weight == Decimal("-12.34")


def test_negative_zero_is_zero() -> None:
    reading = only(parse(toledo_frame(b=B_KG | 0x02, weight=b"000000")))
    assert reading.weight is not None
    assert reading.weight == 0
    assert not reading.weight.is_signed()


def test_motion_flag() -> None:
    assert only(parse(toledo_frame(b=B_KG | 0x08))).stable is False


def test_lb_when_status_b_bit_4_is_clear() -> None:
    assert only(parse(toledo_frame(b=0x20))).unit == "lb"


def test_out_of_range_positive_is_overload_without_a_weight() -> None:
    reading = only(parse(toledo_frame(b=B_KG | 0x04, weight=b"999999")))
    assert reading.kind == "status"
    assert reading.weight is None
    assert reading.overload is True
    assert reading.underload is False


def test_out_of_range_negative_is_underload() -> None:
    reading = only(parse(toledo_frame(b=B_KG | 0x04 | 0x02)))
    assert (reading.kind, reading.weight) == ("status", None)
    assert reading.underload is True
    assert reading.overload is False


def test_power_up_not_zeroed_gives_no_weight() -> None:
    reading = only(parse(toledo_frame(b=B_KG | 0x40)))
    assert reading.kind == "status"
    assert reading.weight is None
    assert reading.error == "not ready"


def test_power_up_bit_can_be_ignored_for_compatible_indicators() -> None:
    reading = only(parse(toledo_frame(b=B_KG | 0x40), {"power_up": "ignore"}))
    assert reading.weight == Decimal("12.34")


# -- status word C -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "unit"),
    [(1, "g"), (2, "t"), (3, "oz"), (4, "ozt"), (5, "dwt"), (6, "ton"), (7, None)],
)
def test_unit_codes(code: int, unit: str | None) -> None:
    reading = only(parse(toledo_frame(c=C_PLAIN | code)))
    assert reading.unit == unit
    assert reading.weight == Decimal("12.34")


def test_print_request_and_expanded_bits_do_not_change_the_weight() -> None:
    reading = only(parse(toledo_frame(c=C_PLAIN | 0x08 | 0x10)))
    assert (reading.weight, reading.unit) == (Decimal("12.34"), "kg")


# -- digits, padding and the short variant -------------------------------------------


def test_leading_zeros_may_be_spaces() -> None:
    reading = only(parse(toledo_frame(weight=b"  1234", tare=b"    50")))
    assert reading.weight == Decimal("12.34")
    assert reading.tare == Decimal("0.50")


def test_blank_tare_field_says_nothing() -> None:
    assert only(parse(toledo_frame(tare=b"      "))).tare is None


@pytest.mark.parametrize("mode", ["no", "auto"])
def test_short_variant_without_tare(mode: str) -> None:
    reading = only(parse(toledo_frame(tare=None), {"tare": mode}))
    assert reading.weight == Decimal("12.34")
    assert reading.tare is None


def test_short_frame_refused_when_tare_is_expected() -> None:
    reading = only(parse(toledo_frame(tare=None, with_checksum=False), {"tare": "yes"}))
    assert (reading.kind, reading.error) == ("error", "unreadable")


def test_long_frame_refused_when_no_tare_is_expected() -> None:
    readings = parse(toledo_frame(), {"tare": "no"})
    assert readings
    assert all(r.kind == "error" for r in readings)


def test_parity_bit_is_ignored() -> None:
    """A 7E1 line read as 8N1: bit 7 carries the parity bit."""
    frame = toledo_frame()
    with_parity = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in frame)
    assert with_parity != frame
    reading = only(parse(with_parity))
    assert reading.weight == Decimal("12.34")
    assert reading.raw == with_parity


# -- malformed frames ----------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        toledo_frame(weight=b"0012a4"),  # a letter among the digits
        toledo_frame(weight=b"00 234"),  # a space inside the number
        toledo_frame(weight=b"      "),  # no digits at all
        toledo_frame(tare=b"00x000"),
        toledo_frame(a=0x04),  # a status word that is a control character
    ],
)
def test_malformed_fields_are_unreadable(frame: bytes) -> None:
    reading = only(parse(frame))
    assert (reading.kind, reading.error, reading.weight) == ("error", "unreadable", None)
    assert reading.raw == frame


def test_a_frame_cut_by_the_next_stx_is_unreadable_and_the_next_one_is_read() -> None:
    frame = toledo_frame()
    readings = parse(frame[:9] + frame)
    assert [(r.kind, r.error) for r in readings] == [("error", "unreadable"), ("weight", None)]
    assert readings[0].raw == frame[:9]


def test_cr_in_the_wrong_place_is_unreadable() -> None:
    frame = toledo_frame(with_checksum=False)
    broken = frame[:8] + b"\r"
    readings = parse(broken + frame + b"\x02", {"checksum": "no"})
    assert readings[0].error == "unreadable"
    assert readings[1].weight == Decimal("12.34")


def test_text_of_another_protocol_is_unreadable() -> None:
    readings = parse(b"ST,GS,+0012.34kg\r\nS S     100.00 g\r\n")
    assert [r.error for r in readings] == ["unreadable", "unreadable"]


def test_manual_layout_in_any_chunking() -> None:
    stream = (
        b"12\r"  # the tail of a frame cut off when the port opened
        + toledo_frame()
        + toledo_frame(b=B_KG | 0x08 | 0x01)
        + toledo_frame(b=B_KG | 0x04)
        + toledo_frame(c=C_PLAIN | 1)
    )
    assert_same_in_any_chunking(stream)
    assert_same_in_any_chunking(stream, {"checksum": "yes"})
    short = toledo_frame(tare=None, with_checksum=False) * 3
    assert_same_in_any_chunking(short, {"checksum": "no"})


# -- emulator round trip -------------------------------------------------------------


STATES = [
    IndicatorState(),
    IndicatorState(weight=Decimal("12.34")),
    IndicatorState(weight=Decimal("1250.5"), decimals=1, motion=True),
    IndicatorState(weight=Decimal("80.00"), tare=Decimal("25.50")),
    IndicatorState(weight=Decimal("-3.20")),
    IndicatorState(weight=Decimal("14500"), decimals=0, unit="lb"),
    IndicatorState(weight=Decimal("250.5"), decimals=1, unit="g"),
    IndicatorState(weight=Decimal("12.345"), decimals=3, unit="t"),
    IndicatorState(weight=Decimal("0.00001"), decimals=5, unit="oz"),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(
    "options",
    [{}, {"checksum": "no"}, {"tare": "no"}, {"checksum": "no", "tare": "no"}],
)
def test_emulator_frames_parse_back_to_the_display(
    state: IndicatorState, options: dict[str, str]
) -> None:
    frame = ToledoEmulator(options).frame(state)
    parser_options = {"checksum": options.get("checksum", "yes"), **options}
    reading = only(parse(frame, parser_options))
    assert reading.kind == "weight"
    assert reading.weight == state.displayed
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.net is state.net
    if options.get("tare") == "no":
        assert reading.tare is None
    else:
        assert reading.tare == state.tare


@pytest.mark.parametrize(
    ("state", "overload", "underload"),
    [
        (IndicatorState(overload=True), True, False),
        (IndicatorState(underload=True), False, True),
        (IndicatorState(weight=Decimal("10000.00")), True, False),  # beyond six digits
    ],
)
def test_emulator_out_of_range(state: IndicatorState, overload: bool, underload: bool) -> None:
    reading = only(parse(ToledoEmulator().frame(state)))
    assert reading.kind == "status"
    assert reading.weight is None
    assert (reading.overload, reading.underload) == (overload, underload)


def test_emulator_frame_is_the_manual_layout() -> None:
    frame = ToledoEmulator().frame(IndicatorState(weight=Decimal("12.34")))
    assert len(frame) == 18
    assert frame[0] == STX and frame[16] == CR
    assert frame[4:10] == b"  1234"
    assert (sum(frame)) & 0x7F == 0


def test_emulator_refuses_what_the_format_cannot_say() -> None:
    with pytest.raises(ValueError, match="unit"):
        ToledoEmulator().frame(IndicatorState(unit="pcs"))
    with pytest.raises(ValueError, match="decimals"):
        ToledoEmulator().frame(IndicatorState(decimals=6))
    with pytest.raises(ProtocolOptionError):
        ToledoEmulator({"checksum": "perhaps"})


# -- the end of the input ---------------------------------------------------------------


def test_auto_at_the_end_a_frame_without_checksum_is_complete() -> None:
    """The last frame waits for a checksum that never comes: at the end it has none."""
    frame = toledo_frame(with_checksum=False)
    parser = ToledoProtocol()
    assert len(parser.feed(frame * 2)) == 1
    assert parser.unfinished() == frame
    last = only(parser.finish())
    assert (last.kind, last.weight, last.raw) == ("weight", Decimal("12.34"), frame)
    assert parser.unfinished() == b""
    assert parser.finish() == []


def test_auto_at_the_end_a_checksum_of_02h_is_the_checksum() -> None:
    body = _frame_with_checksum_02()
    parser = ToledoProtocol()
    assert parser.feed(body + b"\x02") == []  # a checksum, or the next frame's STX?
    assert parser.unfinished() == body + b"\x02"
    last = only(parser.finish())
    assert (last.kind, last.raw) == ("weight", body + b"\x02")


def test_auto_at_the_end_a_lone_stx_after_a_frame_is_incomplete() -> None:
    frame = toledo_frame(with_checksum=False)
    assert checksum(frame) != STX
    parser = ToledoProtocol()
    assert parser.feed(frame + b"\x02") == []
    readings = parser.finish()
    assert [(r.kind, r.weight, r.raw) for r in readings] == [
        ("weight", Decimal("12.34"), frame),
        ("error", None, b"\x02"),
    ]
    assert readings[1].error == "incomplete"


def test_a_frame_cut_before_its_cr_is_incomplete() -> None:
    frame = toledo_frame()
    parser = ToledoProtocol()
    assert len(parser.feed(frame + frame[:9])) == 1
    assert parser.unfinished() == frame[:9]
    assert parser.finish() == [Reading.unreadable(frame[:9], error="incomplete")]


@pytest.mark.parametrize("options", [{"checksum": "yes"}, {}])
def test_a_missing_checksum_where_one_is_due_is_incomplete(options: dict[str, str]) -> None:
    """checksum=yes, or auto once a checksum has verified: the frame is not whole."""
    frame = toledo_frame()
    parser = ToledoProtocol(options)
    assert len(parser.feed(frame + frame[:-1])) == 1
    assert parser.finish() == [Reading.unreadable(frame[:-1], error="incomplete")]


def test_junk_at_the_end_is_incomplete() -> None:
    parser = ToledoProtocol({"checksum": "no"})
    assert parser.feed(toledo_frame(with_checksum=False) + b"ST,GS") != []
    assert parser.finish() == [Reading.unreadable(b"ST,GS", error="incomplete")]


def test_checksum_no_holds_nothing_after_a_whole_frame() -> None:
    parser = ToledoProtocol({"checksum": "no"})
    assert len(parser.feed(toledo_frame(with_checksum=False))) == 1
    assert parser.unfinished() == b""
    assert parser.finish() == []

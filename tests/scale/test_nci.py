"""NCI (Weigh-Tronix SCP-01) parser and emulator, against the standard's layouts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.nci import NciEmulator, NciProtocol, NciStatus, decode_status
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from scale import chunking

# Status bytes: bits 4 and 5 always set (0x30); bit 6 of byte 2 and later says that
# another byte follows.
STABLE = bytes([0x30, 0x30])  # "00"
MOTION = bytes([0x31, 0x30])
AT_ZERO = bytes([0x32, 0x30])
NET_THREE_BYTES = bytes([0x30, 0x70, 0x34])  # "0p4"
GROSS_THREE_BYTES = bytes([0x30, 0x70, 0x30])


def weight_reply(field: bytes, status: bytes) -> bytes:
    """<LF>xxxx.xxuu<CR><LF>hh...<CR><ETX>"""
    return b"\n" + field + b"\r\n" + status + b"\r\x03"


def status_reply(status: bytes) -> bytes:
    """<LF>hh...<CR><ETX>"""
    return b"\n" + status + b"\r\x03"


def feed_whole(data: bytes) -> list[Reading]:
    return NciProtocol().feed(data)


def feed_split_everywhere(data: bytes) -> None:
    """Feeding the bytes cut at any position gives what feeding them whole gives."""
    chunking.assert_same_in_any_chunking(NciProtocol, data, expect_readings=False)


def test_registry_builds_the_protocol_and_emulator() -> None:
    assert isinstance(make_protocol("nci"), NciProtocol)
    emulator = make_emulator("nci")
    assert isinstance(emulator, NciEmulator)
    assert emulator.continuous is False


def test_requests_are_letter_cr() -> None:
    parser = NciProtocol()
    assert parser.polled is True
    assert parser.weight_request() == b"W\r"
    assert parser.zero_request() == b"Z\r"
    assert parser.tare_request() == b"T\r"
    assert parser.serial_defaults.bytesize == 7  # fixed at seven data bits


WEIGHT_EXAMPLE = weight_reply(b"0012.34lb", STABLE)


def test_weight_reply() -> None:
    (reading,) = feed_whole(WEIGHT_EXAMPLE)
    assert reading == Reading(
        weight=Decimal("0012.34"), unit="lb", stable=True, net=None, raw=WEIGHT_EXAMPLE
    )
    assert str(reading.weight) == "12.34"


@pytest.mark.parametrize(
    ("field", "weight", "unit"),
    [
        (b"  12.34kg", "12.34", "kg"),
        (b" -12.34kg", "-12.34", "kg"),
        (b"- 12.34kg", "-12.34", "kg"),  # minus sign at the left of the display
        (b" 1234g ", "1234", "g"),  # grams: one-letter unit, padded
        (b"  3.125KG", "3.125", "kg"),  # upper-case units (some firmware)
        (b"   5.0oz", "5.0", "oz"),
    ],
)
def test_weight_field_variants(field: bytes, weight: str, unit: str) -> None:
    (reading,) = feed_whole(weight_reply(field, STABLE))
    assert (str(reading.weight), reading.unit) == (weight, unit)


def test_motion_bit_makes_the_weight_unstable() -> None:
    (reading,) = feed_whole(weight_reply(b"  12.34kg", MOTION))
    assert (reading.kind, reading.stable) == ("weight", False)


def test_third_status_byte_says_net_or_gross() -> None:
    (net,) = feed_whole(weight_reply(b"   7.50kg", NET_THREE_BYTES))
    (gross,) = feed_whole(weight_reply(b"   7.50kg", GROSS_THREE_BYTES))
    (unknown,) = feed_whole(weight_reply(b"   7.50kg", STABLE))
    assert (net.net, gross.net, unknown.net) == (True, False, None)


def test_parity_bit_is_ignored() -> None:
    with_parity = bytes(byte | 0x80 for byte in NET_THREE_BYTES)
    (reading,) = feed_whole(weight_reply(b"   7.50kg", with_parity))
    assert (reading.weight, reading.net) == (Decimal("7.50"), True)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (b"00", NciStatus(False, False, False, False, None, None)),
        (b"10", NciStatus(True, False, False, False, None, None)),
        (b"20", NciStatus(False, True, False, False, None, None)),
        (b"40", NciStatus(False, False, False, False, None, "ram")),
        (b"80", NciStatus(False, False, False, False, None, "eeprom")),
        (b"01", NciStatus(False, False, True, False, None, None)),
        (b"02", NciStatus(False, False, False, True, None, None)),
        (b"04", NciStatus(False, False, False, False, None, "rom")),
        (b"08", NciStatus(False, False, False, False, None, "calibration")),
        (b"0p4", NciStatus(False, False, False, False, True, None)),
        (b"0p0", NciStatus(False, False, False, False, False, None)),
        (b"0p3", NciStatus(False, False, False, False, False, None)),  # high range
        (b"0p8", NciStatus(False, False, False, False, False, "initial_zero")),
        (b"0pp0", NciStatus(False, False, False, False, False, None)),  # a fourth byte
    ],
)
def test_every_status_bit(status: bytes, expected: NciStatus) -> None:
    assert decode_status(status) == expected


@pytest.mark.parametrize(
    "status",
    [
        b"0",  # one byte: there are always at least two
        b"p0",  # bit 6 of byte 1 is always 0
        b"0p",  # byte 2 says a byte follows, none does
        b"000",  # byte 2 says it is the last, a third follows
        b"0pp",  # last byte says another follows
        bytes([0x00, 0x30]),  # bits 4 and 5 must be set
        bytes([0x30, 0x20]),
    ],
)
def test_status_bytes_that_break_the_layout(status: bytes) -> None:
    assert decode_status(status) is None
    (reading,) = feed_whole(status_reply(status))
    assert (reading.kind, reading.error) == ("error", "unreadable")


@pytest.mark.parametrize(
    ("status", "kind", "error", "overload", "underload", "stable"),
    [
        (b"00", "status", None, False, False, True),
        (b"10", "status", None, False, False, False),
        (b"20", "status", None, False, False, True),
        (b"02", "status", "overload", True, False, True),
        (b"01", "status", "underload", False, True, True),
        (b"40", "error", "ram", False, False, True),
        (b"80", "error", "eeprom", False, False, True),
        (b"04", "error", "rom", False, False, True),
        (b"08", "error", "calibration", False, False, True),
        (b"0p8", "error", "initial_zero", False, False, True),
    ],
)
def test_status_replies(
    status: bytes, kind: str, error: str | None, overload: bool, underload: bool, stable: bool
) -> None:
    (reading,) = feed_whole(status_reply(status))
    assert (reading.kind, reading.error) == (kind, error)
    assert (reading.overload, reading.underload, reading.stable) == (overload, underload, stable)
    assert reading.weight is None


@pytest.mark.parametrize(
    ("field", "status", "kind", "error", "overload", "underload"),
    [
        (b"^^^^^^lb", STABLE, "status", "overload", True, False),  # upper bars
        (b"______lb", STABLE, "status", "underload", False, True),  # lower bars
        (b"------lb", STABLE, "error", "zero", False, False),  # middle bars
        (b"- - - - - -", STABLE, "error", "zero", False, False),
        (b"  12.34kg", b"02", "status", "overload", True, False),  # status bits win
        (b"  12.34kg", b"01", "status", "underload", False, True),
        (b"  12.34kg", b"08", "error", "calibration", False, False),
    ],
)
def test_out_of_range_weights_give_no_weight(
    field: bytes, status: bytes, kind: str, error: str, overload: bool, underload: bool
) -> None:
    (reading,) = feed_whole(weight_reply(field, status))
    assert (reading.kind, reading.error, reading.weight) == (kind, error, None)
    assert (reading.overload, reading.underload) == (overload, underload)


def test_unrecognised_command_reply() -> None:
    frame = b"\n?\r\x03"
    (reading,) = feed_whole(frame)
    assert reading == Reading(
        weight=None, unit=None, stable=None, kind="error", error="unrecognised", raw=frame
    )


def test_units_reply_to_u() -> None:
    (reading,) = feed_whole(weight_reply(b"kg", STABLE))
    assert (reading.kind, reading.unit, reading.weight) == ("status", "kg", None)


@pytest.mark.parametrize(
    "frame",
    [
        weight_reply(b"12lb 3.5oz", STABLE),  # pounds and ounces: no single decimal weight
        weight_reply(b"  HELLO", STABLE),  # message text
        weight_reply(b"  12,34kg", STABLE),
        weight_reply(b"  12.3.4kg", STABLE),
        weight_reply(b"  1 2.34kg", STABLE),
        weight_reply(b"  12.34kg\xb0", STABLE),
        b"  12.34kg\r\n00\r\x03",  # no LF
        b"\n  12.34kg\r00\r\x03",  # status line without LF
        b"\n  12.34kg\r\n00\r\n00\r\x03",  # three lines
        b"\n00\x03",  # no CR
        b"\x03",
        b"ST,GS,+0012.34kg\r\n\x03",
    ],
)
def test_malformed_frames_are_unreadable(frame: bytes) -> None:
    (reading,) = feed_whole(frame)
    assert reading == Reading(
        weight=None, unit=None, stable=None, kind="error", error="unreadable", raw=frame
    )


def test_unknown_unit_is_an_error() -> None:
    (reading,) = feed_whole(weight_reply(b"  12.34ct", STABLE))
    assert (reading.kind, reading.error, reading.weight) == ("error", "unit", None)


def test_junk_without_etx_is_cut() -> None:
    readings = feed_whole(b"\n" + b"1" * 140)
    assert len(readings) == 2
    assert all(r.error == "unreadable" for r in readings)


@pytest.mark.parametrize(
    "data",
    [
        WEIGHT_EXAMPLE,
        weight_reply(b" -12.34kg", NET_THREE_BYTES) + status_reply(b"10") + b"\n?\r\x03",
        weight_reply(b"^^^^^^lb", b"02") + weight_reply(b"   0.00kg", AT_ZERO),
        b"noise\x03" + WEIGHT_EXAMPLE,
    ],
)
def test_chunking_at_every_position_gives_the_same_readings(data: bytes) -> None:
    feed_split_everywhere(data)


# Emulator <-> parser


def ask(emulator: NciEmulator, request: bytes, state: IndicatorState) -> list[Reading]:
    return NciProtocol().feed(emulator.receive(request, state))


@pytest.mark.parametrize(
    "state",
    [
        IndicatorState(weight=Decimal("12.34")),
        IndicatorState(weight=Decimal("-0.50"), motion=True),
        IndicatorState(weight=Decimal("1500"), unit="g", decimals=0),
        IndicatorState(weight=Decimal("3.125"), unit="t", decimals=3, tare=Decimal("1.000")),
        IndicatorState(weight=Decimal("20.5"), unit="lb", decimals=1, motion=True),
        IndicatorState(weight=Decimal("123456.78"), unit="lb"),  # wider than the display
    ],
)
def test_weight_round_trip(state: IndicatorState) -> None:
    (reading,) = ask(NciEmulator(), NciProtocol().weight_request(), state)
    assert reading.kind == "weight"
    assert str(reading.weight) == str(state.displayed)
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.net is state.net
    assert reading.overload is False


def test_high_resolution_round_trip() -> None:
    state = IndicatorState(weight=Decimal("12.345"), tare=Decimal("2"))
    (reading,) = ask(NciEmulator(), b"H\r", state)
    assert (reading.weight, reading.net) == (Decimal("10.345"), True)


def test_overload_and_underload_round_trip() -> None:
    emulator, request = NciEmulator(), NciProtocol().weight_request()
    over_state = IndicatorState(weight=Decimal("9999"), overload=True)
    assert b"^^^^" in emulator.receive(request, over_state)
    (over,) = ask(emulator, request, over_state)
    (under,) = ask(emulator, request, IndicatorState(weight=Decimal("-5"), underload=True))
    assert (over.kind, over.overload, over.weight) == ("status", True, None)
    assert (under.kind, under.underload, under.weight) == ("status", True, None)


def test_status_round_trip() -> None:
    state = IndicatorState(weight=Decimal("5.00"), tare=Decimal("1.00"), motion=True)
    (reading,) = ask(NciEmulator(), b"S\r", state)
    assert (reading.kind, reading.stable, reading.net) == ("status", False, True)


def test_zero_round_trip() -> None:
    emulator, parser = NciEmulator(), NciProtocol()
    state = IndicatorState(weight=Decimal("0.40"), tare=Decimal("0.10"))
    (reply,) = ask(emulator, parser.zero_request(), state)
    assert (reply.kind, reply.net) == ("status", False)
    assert state.weight == 0 and state.tare == 0
    assert decode_status(reply.raw[1:-2]) == NciStatus(False, True, False, False, False, None)
    (reading,) = ask(emulator, parser.weight_request(), state)
    assert reading.weight == Decimal("0.00")


def test_zero_not_done_in_motion_still_returns_status() -> None:
    state = IndicatorState(weight=Decimal("0.40"), motion=True)
    (reply,) = ask(NciEmulator(), NciProtocol().zero_request(), state)
    assert (reply.kind, reply.stable) == ("status", False)
    assert state.weight == Decimal("0.40")


def test_tare_round_trip() -> None:
    emulator, parser = NciEmulator(), NciProtocol()
    state = IndicatorState(weight=Decimal("12.50"))
    (reply,) = ask(emulator, parser.tare_request(), state)
    assert (reply.kind, reply.net) == ("status", True)
    assert state.tare == Decimal("12.50")
    state.weight = Decimal("20.00")
    (reading,) = ask(emulator, parser.weight_request(), state)
    assert (reading.weight, reading.net) == (Decimal("7.50"), True)


def test_tare_not_done_in_motion() -> None:
    state = IndicatorState(weight=Decimal("3.00"), motion=True)
    (reply,) = ask(NciEmulator(), NciProtocol().tare_request(), state)
    assert (reply.net, state.tare) == (False, Decimal(0))


def test_emulator_answers_unknown_commands() -> None:
    emulator, state = NciEmulator(), IndicatorState()
    assert emulator.receive(b"X\r", state) == b"\n?\r\x03"
    assert emulator.receive(b"WW\r", state) == b"\n?\r\x03"


def test_emulator_takes_requests_in_any_chunks() -> None:
    emulator, state = NciEmulator(), IndicatorState(weight=Decimal("1.00"))
    assert emulator.receive(b"W", state) == b""
    reply = emulator.receive(b"\rS\r", state)
    assert reply == weight_reply(b"   1.00kg", b"0p0") + status_reply(b"0p0")


# -- the end of the input ---------------------------------------------------------------


def test_a_reply_without_its_etx_is_incomplete_at_the_end() -> None:
    reply = weight_reply(b"0012.34kg", STABLE)
    parser = NciProtocol()
    assert len(parser.feed(reply + reply[:-1])) == 1
    assert parser.unfinished() == reply[:-1]
    assert parser.finish() == [Reading.unreadable(reply[:-1], error="incomplete")]


def test_nothing_held_after_a_whole_reply() -> None:
    parser = NciProtocol()
    parser.feed(status_reply(STABLE))
    assert parser.unfinished() == b""
    assert parser.finish() == []

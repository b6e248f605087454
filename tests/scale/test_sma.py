"""SMA SCP-0499 parser and emulator, against the examples of the standard (5.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from drivers.scale.sma import SmaEmulator, SmaProtocol
from scale import chunking


def sma_frame(
    status: str, gross_net: str, motion: str, weight: str, unit: str, scale_range: str = "1"
) -> bytes:
    """<LF><s><r><n><m><f><xxxxxx.xxx><uuu><CR>, built field by field."""
    body = f"{status}{scale_range}{gross_net}{motion} {weight:>10}{unit:<3}"
    assert len(body) == 18
    return b"\n" + body.encode("ascii") + b"\r"


def feed_whole(data: bytes) -> list[Reading]:
    return SmaProtocol().feed(data)


def feed_split_everywhere(data: bytes) -> None:
    """Feeding the bytes cut at any position gives what feeding them whole gives."""
    chunking.assert_same_in_any_chunking(SmaProtocol, data, expect_readings=False)


def test_registry_builds_the_protocol_and_emulator() -> None:
    assert isinstance(make_protocol("sma"), SmaProtocol)
    emulator = make_emulator("sma")
    assert isinstance(emulator, SmaEmulator)
    assert emulator.continuous is False


def test_requests_are_lf_command_cr() -> None:
    parser = SmaProtocol()
    assert parser.polled is True
    assert parser.weight_request() == b"\nW\r"
    assert parser.zero_request() == b"\nZ\r"
    assert parser.tare_request() == b"\nT\r"
    assert (parser.serial_defaults.bytesize, parser.serial_defaults.parity) == (8, "N")


# The examples of section 5.4.1, byte for byte.
GROSS_EXAMPLE = b"\n 1G       5.025lb \r"
NET_EXAMPLE = b"\n 1N      100000lb \r"
HIGH_RESOLUTION_EXAMPLE = b"\n 1g      5.0025lb \r"
ZERO_EXAMPLE = b"\nZ1G       0.000lb \r"
REPEAT_EXAMPLE = b"\n 1G       7.025kg \r" + b"\n 1GM      7.650kg \r" + b"\n 1G       7.650kg \r"


def test_examples_match_the_field_builder() -> None:
    assert sma_frame(" ", "G", " ", "5.025", "lb") == GROSS_EXAMPLE
    assert sma_frame(" ", "N", " ", "100000", "lb") == NET_EXAMPLE
    assert sma_frame("Z", "G", " ", "0.000", "lb") == ZERO_EXAMPLE


def test_gross_weight_example() -> None:
    (reading,) = feed_whole(GROSS_EXAMPLE)
    assert reading == Reading(
        weight=Decimal("5.025"), unit="lb", stable=True, net=False, raw=GROSS_EXAMPLE
    )


def test_net_weight_example() -> None:
    (reading,) = feed_whole(NET_EXAMPLE)
    assert (reading.weight, reading.unit, reading.net) == (Decimal("100000"), "lb", True)


def test_high_resolution_example_is_gross() -> None:
    (reading,) = feed_whole(HIGH_RESOLUTION_EXAMPLE)
    assert (reading.weight, reading.net, reading.stable) == (Decimal("5.0025"), False, True)
    (net,) = feed_whole(sma_frame(" ", "n", " ", "1.2345", "kg"))
    assert net.net is True


def test_centre_of_zero_example() -> None:
    (reading,) = feed_whole(ZERO_EXAMPLE)
    assert (reading.kind, reading.weight, str(reading.weight)) == ("weight", Decimal(0), "0.000")


def test_repeat_example_motion_flag() -> None:
    readings = feed_whole(REPEAT_EXAMPLE)
    assert [(r.weight, r.stable) for r in readings] == [
        (Decimal("7.025"), True),
        (Decimal("7.650"), False),
        (Decimal("7.650"), True),
    ]
    assert all(r.unit == "kg" for r in readings)


def test_negative_weight() -> None:
    (reading,) = feed_whole(sma_frame(" ", "N", " ", "-12.50", "kg"))
    assert reading.weight == Decimal("-12.50")


@pytest.mark.parametrize(
    ("frame", "kind", "error", "overload", "underload"),
    [
        (sma_frame("O", "G", " ", "+6001.0", "kg"), "status", "overload", True, False),
        (sma_frame("U", "G", " ", "-12.0", "kg"), "status", "underload", False, True),
        (sma_frame("E", "G", " ", "-" * 10, ""), "error", "zero", False, False),
        (sma_frame("I", "G", " ", "-" * 10, ""), "error", "initial_zero", False, False),
        (sma_frame("T", "N", " ", "-" * 10, ""), "error", "tare", False, False),
        # P timed out without stability: <LF><_><1><n><_><f><----------><___><CR>
        (sma_frame(" ", "G", " ", "-" * 10, ""), "status", "no_stable_weight", False, False),
    ],
)
def test_scale_status_characters(
    frame: bytes, kind: str, error: str, overload: bool, underload: bool
) -> None:
    (reading,) = feed_whole(frame)
    assert (reading.kind, reading.error) == (kind, error)
    assert (reading.overload, reading.underload) == (overload, underload)
    assert reading.weight is None


def test_motion_and_gross_net_flags_on_a_status_frame() -> None:
    (reading,) = feed_whole(sma_frame("O", "N", "M", "+6001.0", "kg"))
    assert (reading.stable, reading.net) == (False, True)


def test_tare_weight_reply_to_m() -> None:
    (reading,) = feed_whole(sma_frame(" ", "T", " ", "2.500", "kg"))
    assert (reading.kind, reading.weight, reading.tare, reading.unit) == (
        "status",
        None,
        Decimal("2.500"),
        "kg",
    )


def test_multi_range_frame() -> None:
    (reading,) = feed_whole(sma_frame(" ", "G", " ", "25.00", "kg", scale_range="3"))
    assert reading.weight == Decimal("25.00")


@pytest.mark.parametrize(
    ("frame", "error"), [(b"\n?\r", "unrecognised"), (b"\n!\r", "communication")]
)
def test_error_replies(frame: bytes, error: str) -> None:
    (reading,) = feed_whole(frame)
    assert reading == Reading(
        weight=None, unit=None, stable=None, kind="error", error=error, raw=frame
    )


@pytest.mark.parametrize(
    ("frame", "kind", "error"),
    [
        (b"\n    \r", "status", None),
        (b"\nR   \r", "error", "ram_rom"),
        (b"\n E  \r", "error", "eeprom"),
        (b"\n  C \r", "error", "calibration"),
        (b"\nSMA:2/1.0 \r", "status", "information"),
        (b"\nCAP:kg :6000:1:0\r", "status", "information"),
    ],
)
def test_diagnostics_and_information_replies(frame: bytes, kind: str, error: str | None) -> None:
    (reading,) = feed_whole(frame)
    assert (reading.kind, reading.error, reading.weight) == (kind, error, None)


@pytest.mark.parametrize(
    "frame",
    [
        b"\n 1G      5.025lb \r",  # one character short
        b"\n 1G        5.025lb \r",  # one character long
        b" 1G       5.025lb \r",  # no LF
        sma_frame("X", "G", " ", "5.025", "lb"),  # unknown status
        sma_frame(" ", "X", " ", "5.025", "lb"),  # unknown gross/net
        sma_frame(" ", "G", "D", "5.025", "lb"),  # unknown motion
        sma_frame(" ", "G", " ", "5.025", "lb", scale_range="0"),
        sma_frame(" ", "G", " ", "5,025", "lb"),
        sma_frame(" ", "G", " ", "5.0 25", "lb"),
        sma_frame(" ", "G", " ", "5.025  ", "lb"),  # left-aligned weight
        sma_frame(" ", "G", " ", "5.O25", "lb"),
        sma_frame("Z", "G", " ", "-" * 10, "lb"),  # centre of zero without a weight
        b"\n 1G       5.025\xe9b \r",
        b"\nST,GS,+0012.34kg\r",
    ],
)
def test_malformed_frames_are_unreadable(frame: bytes) -> None:
    readings = feed_whole(frame)
    assert readings
    assert all(r.kind == "error" and r.error == "unreadable" for r in readings)
    assert b"".join(r.raw for r in readings) == frame


def test_unknown_unit_is_an_error() -> None:
    (reading,) = feed_whole(sma_frame(" ", "G", " ", "5.025", "ct"))
    assert (reading.kind, reading.error, reading.weight) == ("error", "unit", None)


def test_frame_that_lost_its_cr_is_reported_apart_from_the_next() -> None:
    broken = b"\n 1G      "
    junk, good = feed_whole(broken + GROSS_EXAMPLE)
    assert (junk.error, junk.raw) == ("unreadable", broken)
    assert good.weight == Decimal("5.025")


def test_stray_line_feeds_and_empty_lines_are_ignored() -> None:
    readings = feed_whole(GROSS_EXAMPLE + b"\n" + GROSS_EXAMPLE + b"\r\n\r")
    assert [r.weight for r in readings] == [Decimal("5.025")] * 2


def test_over_long_junk_is_cut() -> None:
    readings = feed_whole(b"\n" + b"A" * 200)
    assert len(readings) == 3
    assert all(r.error == "unreadable" for r in readings)


@pytest.mark.parametrize(
    "data",
    [
        GROSS_EXAMPLE,
        NET_EXAMPLE + HIGH_RESOLUTION_EXAMPLE + ZERO_EXAMPLE,
        REPEAT_EXAMPLE,
        b"\n?\r\n!\r" + sma_frame("E", "G", " ", "-" * 10, "") + b"\n    \r",
        b"noise\r" + b"\n 1G   " + GROSS_EXAMPLE,
    ],
)
def test_chunking_at_every_position_gives_the_same_readings(data: bytes) -> None:
    feed_split_everywhere(data)


# Emulator <-> parser


def ask(emulator: SmaEmulator, request: bytes, state: IndicatorState) -> list[Reading]:
    return SmaProtocol().feed(emulator.receive(request, state))


@pytest.mark.parametrize(
    "state",
    [
        IndicatorState(weight=Decimal("12.34")),
        IndicatorState(weight=Decimal("-0.50"), motion=True),
        IndicatorState(weight=Decimal("1500"), unit="g", decimals=0),
        IndicatorState(weight=Decimal("3.125"), unit="t", decimals=3, tare=Decimal("1.000")),
        IndicatorState(weight=Decimal("20.5"), unit="lb", decimals=1, motion=True),
        IndicatorState(weight=Decimal("0.00")),
    ],
)
def test_weight_round_trip(state: IndicatorState) -> None:
    (reading,) = ask(SmaEmulator(), SmaProtocol().weight_request(), state)
    assert reading.kind == "weight"
    assert str(reading.weight) == str(state.displayed)
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.net is state.net
    assert reading.overload is False


def test_high_resolution_round_trip() -> None:
    state = IndicatorState(weight=Decimal("12.345"), tare=Decimal("2"))
    (reading,) = ask(SmaEmulator(), b"\nH\r", state)
    assert (reading.weight, reading.net) == (Decimal("10.345"), True)
    assert reading.raw[3:4] == b"n"


def test_overload_and_underload_round_trip() -> None:
    emulator, request = SmaEmulator(), SmaProtocol().weight_request()
    (over,) = ask(emulator, request, IndicatorState(weight=Decimal("9999"), overload=True))
    (under,) = ask(emulator, request, IndicatorState(weight=Decimal("-5"), underload=True))
    assert (over.kind, over.overload, over.weight) == ("status", True, None)
    assert (under.kind, under.underload, under.weight) == ("status", True, None)


def test_value_too_wide_for_the_field_reads_as_overload() -> None:
    state = IndicatorState(weight=Decimal("123456789.5"), decimals=1)
    (reading,) = ask(SmaEmulator(), SmaProtocol().weight_request(), state)
    assert (reading.kind, reading.overload) == ("status", True)


def test_zero_round_trip() -> None:
    emulator, parser = SmaEmulator(), SmaProtocol()
    state = IndicatorState(weight=Decimal("0.40"), tare=Decimal("0.10"))
    (reply,) = ask(emulator, parser.zero_request(), state)
    assert reply.raw[1:2] == b"Z"
    assert (reply.kind, reply.weight, reply.net) == ("weight", Decimal("0.00"), False)
    assert state.weight == 0 and state.tare == 0


def test_zero_refused_in_motion_reports_zero_error() -> None:
    state = IndicatorState(weight=Decimal("0.40"), motion=True)
    (reply,) = ask(SmaEmulator(), SmaProtocol().zero_request(), state)
    assert (reply.kind, reply.error) == ("error", "zero")
    assert state.weight == Decimal("0.40")


def test_tare_round_trip() -> None:
    emulator, parser = SmaEmulator(), SmaProtocol()
    state = IndicatorState(weight=Decimal("12.50"))
    (reply,) = ask(emulator, parser.tare_request(), state)
    assert (reply.kind, reply.weight, reply.net) == ("weight", Decimal("0.00"), True)
    assert state.tare == Decimal("12.50")
    (tare,) = ask(emulator, b"\nM\r", state)
    assert tare.tare == Decimal("12.50")
    state.weight = Decimal("20.00")
    (reading,) = ask(emulator, parser.weight_request(), state)
    assert (reading.weight, reading.net) == (Decimal("7.50"), True)
    (cleared,) = ask(emulator, b"\nC\r", state)
    assert (cleared.weight, cleared.net, state.tare) == (Decimal("20.00"), False, Decimal(0))


def test_preset_tare() -> None:
    emulator, state = SmaEmulator(), IndicatorState(weight=Decimal("10.00"))
    (reply,) = ask(emulator, b"\nT     2.500\r", state)
    assert state.tare == Decimal("2.500")
    assert (reply.weight, reply.net) == (Decimal("7.50"), True)
    assert emulator.receive(b"\nTabc\r", state) == b"\n?\r"


def test_tare_refused_in_motion_reports_tare_error() -> None:
    state = IndicatorState(weight=Decimal("3.00"), motion=True)
    (reply,) = ask(SmaEmulator(), SmaProtocol().tare_request(), state)
    assert (reply.kind, reply.error) == ("error", "tare")
    assert state.tare == 0


def test_weight_after_stability_times_out_in_motion() -> None:
    state = IndicatorState(weight=Decimal("3.00"), motion=True)
    (reply,) = ask(SmaEmulator(), b"\nP\r", state)
    assert (reply.kind, reply.error) == ("status", "no_stable_weight")
    state.motion = False
    (reply,) = ask(SmaEmulator(), b"\nP\r", state)
    assert reply.weight == Decimal("3.00")


def test_emulator_error_replies() -> None:
    emulator, state = SmaEmulator(), IndicatorState()
    assert emulator.receive(b"\nX\r", state) == b"\n?\r"
    assert emulator.receive(b"\nR\r", state) == b"\n?\r"  # repeat mode is not supported
    assert emulator.receive(b"\nW\xd7\r", state) == b"\n!\r"


def test_emulator_takes_requests_in_any_chunks() -> None:
    emulator, state = SmaEmulator(), IndicatorState(weight=Decimal("1.00"))
    assert emulator.receive(b"\n", state) == b""
    assert emulator.receive(b"W", state) == b""
    reply = emulator.receive(b"\r\nW\r", state)
    assert reply == sma_frame(" ", "G", " ", "1.00", "kg") * 2


# -- the end of the input ---------------------------------------------------------------


def test_a_frame_without_its_cr_is_incomplete_at_the_end() -> None:
    frame = sma_frame(" ", "G", " ", "12.34", "kg")
    parser = SmaProtocol()
    assert [r.weight for r in parser.feed(frame + frame[:-1])] == [Decimal("12.34")]
    assert parser.unfinished() == frame[:-1]
    assert parser.finish() == [Reading.unreadable(frame[:-1], error="incomplete")]


def test_nothing_held_after_a_whole_frame() -> None:
    parser = SmaProtocol()
    parser.feed(sma_frame(" ", "G", " ", "12.34", "kg"))
    assert parser.unfinished() == b""
    assert parser.finish() == []

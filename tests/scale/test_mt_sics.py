"""MT-SICS parser and emulator, against the examples of the MT-SICS reference manual."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.mt_sics import MtSicsEmulator, MtSicsProtocol
from drivers.scale.protocol import ProtocolOptionError
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from scale import chunking


def feed_whole(data: bytes) -> list[Reading]:
    return MtSicsProtocol().feed(data)


def feed_split_everywhere(data: bytes) -> None:
    """Feeding the bytes cut at any position gives what feeding them whole gives."""
    chunking.assert_same_in_any_chunking(MtSicsProtocol, data, expect_readings=False)


def test_registry_builds_the_protocol_and_emulator() -> None:
    assert isinstance(make_protocol("mt-sics"), MtSicsProtocol)
    emulator = make_emulator("mt-sics")
    assert isinstance(emulator, MtSicsEmulator)
    assert emulator.continuous is False


def test_protocol_is_polled_with_crlf_commands() -> None:
    parser = MtSicsProtocol()
    assert parser.polled is True
    assert parser.weight_request() == b"SI\r\n"
    assert parser.zero_request() == b"Z\r\n"
    assert parser.tare_request() == b"T\r\n"
    defaults = parser.serial_defaults
    assert (defaults.baudrate, defaults.bytesize, defaults.parity, defaults.stopbits) == (
        9600,
        8,
        "N",
        1,
    )


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ProtocolOptionError, match="no option 'checksum'"):
        MtSicsProtocol({"checksum": "on"})


# The manual's example "S S     100.00 g" and its negative counterpart.
STABLE_EXAMPLE = b"S S     100.00 g\r\n"


def test_stable_weight_example() -> None:
    (reading,) = feed_whole(STABLE_EXAMPLE)
    assert reading == Reading(
        weight=Decimal("100.00"),
        unit="g",
        stable=True,
        net=None,
        kind="weight",
        raw=b"S S     100.00 g",
    )
    assert reading.grams == 100


def test_negative_weight_keeps_its_decimals() -> None:
    (reading,) = feed_whole(b"S S    -12.345 kg\r\n")
    assert reading.weight == Decimal("-12.345")
    assert str(reading.weight) == "-12.345"
    assert reading.unit == "kg"
    assert reading.grams == -12345


def test_dynamic_weight_is_not_stable() -> None:
    (reading,) = feed_whole(b"S D     114.87 kg\r\n")
    assert reading.kind == "weight"
    assert reading.weight == Decimal("114.87")
    assert reading.stable is False


@pytest.mark.parametrize(
    "line",
    [b"S S 100.00 g", b"S  S        100.00   g", b"  S S     100.00 g  ", b"S S     100.00 G"],
)
def test_spacing_and_unit_case_are_tolerated(line: bytes) -> None:
    (reading,) = feed_whole(line + b"\r\n")
    assert (reading.weight, reading.unit, reading.stable) == (Decimal("100.00"), "g", True)


@pytest.mark.parametrize("terminator", [b"\r\n", b"\r", b"\n"])
def test_any_line_terminator_closes_a_frame(terminator: bytes) -> None:
    readings = feed_whole(b"S S       1.00 kg" + terminator + b"S D       1.50 kg" + terminator)
    assert [r.weight for r in readings] == [Decimal("1.00"), Decimal("1.50")]


def test_sir_stream_of_replies() -> None:
    # SIR repeats the SI answer (Ohaus 7000 example of the SIR command).
    stream = b"S S     129.09 kg\r\nS S     129.09 kg\r\nS D     114.87 kg\r\n"
    readings = feed_whole(stream)
    assert [(r.weight, r.stable) for r in readings] == [
        (Decimal("129.09"), True),
        (Decimal("129.09"), True),
        (Decimal("114.87"), False),
    ]
    feed_split_everywhere(stream)


@pytest.mark.parametrize(
    ("line", "kind", "error", "overload", "underload"),
    [
        (b"S I", "status", "not_executable", False, False),
        (b"S +", "status", "overload", True, False),
        (b"S -", "status", "underload", False, True),
        (b"S L", "error", "logical", False, False),
        (b"ES", "error", "syntax", False, False),
        (b"ET", "error", "transmission", False, False),
        (b"EL", "error", "logical", False, False),
    ],
)
def test_status_and_error_replies(
    line: bytes, kind: str, error: str, overload: bool, underload: bool
) -> None:
    (reading,) = feed_whole(line + b"\r\n")
    assert reading.kind == kind
    assert reading.error == error
    assert reading.weight is None
    assert (reading.overload, reading.underload) == (overload, underload)
    assert reading.raw == line


@pytest.mark.parametrize(
    ("line", "error"),
    [(b"Z A", None), (b"Z I", "not_executable"), (b"Z +", "zero_range"), (b"Z -", "zero_range")],
)
def test_zero_replies(line: bytes, error: str | None) -> None:
    (reading,) = feed_whole(line + b"\r\n")
    assert reading.kind == "status"
    assert reading.error == error
    assert reading.weight is None


def test_tare_reply_carries_the_tare() -> None:
    (reading,) = feed_whole(b"T S     100.00 g\r\n")
    assert reading.kind == "status"
    assert reading.weight is None
    assert reading.tare == Decimal("100.00")
    assert reading.unit == "g"
    assert reading.stable is True


@pytest.mark.parametrize(
    ("line", "error"),
    [(b"T I", "not_executable"), (b"T +", "tare_range"), (b"T -", "tare_range")],
)
def test_tare_failures(line: bytes, error: str) -> None:
    (reading,) = feed_whole(line + b"\r\n")
    assert (reading.kind, reading.error, reading.tare) == ("status", error, None)


def test_tare_query_and_clear_replies() -> None:
    tare, cleared = feed_whole(b"TA A      2.50 kg\r\nTAC A\r\n")
    assert (tare.kind, tare.tare, tare.unit) == ("status", Decimal("2.50"), "kg")
    assert (cleared.kind, cleared.error) == ("status", None)


@pytest.mark.parametrize(
    "line",
    [
        b"S S",  # no weight
        b"S S 100.00",  # no unit
        b"S S 100,00 g",  # comma is not the MT-SICS decimal point
        b"S S 1O0.00 g",  # letter O in the digits
        b"S S 100.00 g extra",
        b"S X 100.00 g",  # unknown status
        b"S D - 12.00 kg",  # sign detached from the digits
        b"s s 100.00 g",  # commands and IDs are upper case
        b'I4 A "0123456789"',  # a reply the counter never asks for
        b"S S 100.00 \xb5g",  # not ASCII
        b"ST,GS,+0012.34kg",  # a comma-format frame
        b"   ",
    ],
)
def test_malformed_frames_are_unreadable(line: bytes) -> None:
    (reading,) = feed_whole(line + b"\r\n")
    assert reading == Reading(
        weight=None, unit=None, stable=None, kind="error", error="unreadable", raw=line
    )


def test_unknown_unit_is_an_error_not_a_weight() -> None:
    (reading,) = feed_whole(b"S S     100.00 ct\r\n")
    assert (reading.kind, reading.error, reading.weight) == ("error", "unit", None)


def test_over_long_junk_is_cut_into_unreadable_frames() -> None:
    junk = b"X" * 300
    readings = feed_whole(junk)
    assert readings
    assert all(r.kind == "error" and r.error == "unreadable" for r in readings)
    assert b"".join(r.raw for r in readings) == junk[: len(readings) * 129]


@pytest.mark.parametrize(
    "data",
    [
        STABLE_EXAMPLE,
        b"S S    -12.345 kg\r\nS D     114.87 kg\r\nS +\r\nS -\r\nS I\r\n",
        b"Z A\r\nZ I\r\nZ +\r\nZ -\r\nT S     100.00 g\r\nT I\r\nES\r\nET\r\nEL\r\n",
        b"garbage\r\nS S       5.00 kg\r\n",
    ],
)
def test_chunking_at_every_position_gives_the_same_readings(data: bytes) -> None:
    feed_split_everywhere(data)


def test_partial_line_waits_for_its_terminator() -> None:
    parser = MtSicsProtocol()
    assert parser.feed(b"S S     10") == []
    (reading,) = parser.feed(b"0.00 g\r\n")
    assert reading.weight == Decimal("100.00")


# Emulator <-> parser


def ask(emulator: MtSicsEmulator, request: bytes, state: IndicatorState) -> list[Reading]:
    return MtSicsProtocol().feed(emulator.receive(request, state))


@pytest.mark.parametrize(
    "state",
    [
        IndicatorState(weight=Decimal("12.34")),
        IndicatorState(weight=Decimal("-0.50"), motion=True),
        IndicatorState(weight=Decimal("1500"), unit="g", decimals=0),
        IndicatorState(weight=Decimal("3.125"), unit="t", decimals=3, tare=Decimal("1.000")),
        IndicatorState(weight=Decimal("20.5"), unit="lb", decimals=1, motion=True),
    ],
)
def test_weight_round_trip(state: IndicatorState) -> None:
    parser = MtSicsProtocol()
    (reading,) = ask(MtSicsEmulator(), parser.weight_request(), state)
    assert reading.kind == "weight"
    assert reading.weight == state.displayed
    assert str(reading.weight) == str(state.displayed)
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.overload is False
    assert reading.net is None  # MT-SICS does not say gross or net


def test_overload_and_underload_round_trip() -> None:
    emulator, request = MtSicsEmulator(), MtSicsProtocol().weight_request()
    (over,) = ask(emulator, request, IndicatorState(weight=Decimal("9999"), overload=True))
    (under,) = ask(emulator, request, IndicatorState(weight=Decimal("-5"), underload=True))
    assert (over.kind, over.overload, over.weight) == ("status", True, None)
    assert (under.kind, under.underload, under.weight) == ("status", True, None)


def test_s_command_waits_for_stability() -> None:
    emulator, state = MtSicsEmulator(), IndicatorState(weight=Decimal("4.00"), motion=True)
    assert emulator.receive(b"S\r\n", state) == b"S I\r\n"
    state.motion = False
    assert emulator.receive(b"S\r\n", state) == b"S S       4.00 kg\r\n"


def test_zero_round_trip() -> None:
    emulator, parser = MtSicsEmulator(), MtSicsProtocol()
    state = IndicatorState(weight=Decimal("0.40"), tare=Decimal("0.10"))
    (ack,) = ask(emulator, parser.zero_request(), state)
    assert (ack.kind, ack.error, ack.raw) == ("status", None, b"Z A")
    assert state.weight == 0 and state.tare == 0
    (reading,) = ask(emulator, parser.weight_request(), state)
    assert reading.weight == Decimal("0.00")


def test_zero_refused_in_motion_and_out_of_range() -> None:
    emulator, request = MtSicsEmulator(), MtSicsProtocol().zero_request()
    moving = IndicatorState(weight=Decimal("0.40"), motion=True)
    assert emulator.receive(request, moving) == b"Z I\r\n"
    assert moving.weight == Decimal("0.40")
    assert emulator.receive(request, IndicatorState(overload=True)) == b"Z +\r\n"
    assert emulator.receive(request, IndicatorState(underload=True)) == b"Z -\r\n"


def test_tare_round_trip() -> None:
    emulator, parser = MtSicsEmulator(), MtSicsProtocol()
    state = IndicatorState(weight=Decimal("12.50"))
    (ack,) = ask(emulator, parser.tare_request(), state)
    assert (ack.kind, ack.tare, ack.unit) == ("status", Decimal("12.50"), "kg")
    assert state.tare == Decimal("12.50") and state.net
    state.weight = Decimal("20.00")
    (reading,) = ask(emulator, parser.weight_request(), state)
    assert reading.weight == Decimal("7.50")
    assert emulator.receive(b"TA\r\n", state) == b"TA A 12.50 kg\r\n"
    assert emulator.receive(b"TAC\r\n", state) == b"TAC A\r\n"
    assert state.tare == 0


def test_tare_refused_in_motion() -> None:
    emulator, state = MtSicsEmulator(), IndicatorState(weight=Decimal("3.00"), motion=True)
    (reply,) = ask(emulator, MtSicsProtocol().tare_request(), state)
    assert (reply.kind, reply.error) == ("status", "not_executable")
    assert state.tare == 0


def test_emulator_answers_unknown_commands_with_syntax_error() -> None:
    emulator, state = MtSicsEmulator(), IndicatorState()
    assert emulator.receive(b"XYZ\r\n", state) == b"ES\r\n"
    assert emulator.receive(b"S 1\r\n", state) == b"ES\r\n"
    assert emulator.receive(b"S\xff\r\n", state) == b"ET\r\n"
    (reading,) = MtSicsProtocol().feed(emulator.receive(b"XYZ\r\n", state))
    assert (reading.kind, reading.error) == ("error", "syntax")


def test_emulator_takes_requests_in_any_chunks() -> None:
    emulator, state = MtSicsEmulator(), IndicatorState(weight=Decimal("1.00"))
    assert emulator.receive(b"S", state) == b""
    assert emulator.receive(b"I\r", state) == b""
    reply = emulator.receive(b"\nSI\r\nZ\r\n", state)
    assert reply == b"S S       1.00 kg\r\n" * 2 + b"Z A\r\n"


def test_sir_starts_repetition_and_si_stops_it() -> None:
    emulator, state = MtSicsEmulator(), IndicatorState(weight=Decimal("2.00"), motion=True)
    assert emulator.receive(b"SIR\r\n", state) == b"S D       2.00 kg\r\n"
    assert emulator.repeating
    assert emulator.frame(state) == b"S D       2.00 kg\r\n"
    emulator.receive(b"SI\r\n", state)
    assert not emulator.repeating


# -- the end of the input ---------------------------------------------------------------


def test_a_cut_off_reply_is_incomplete_at_the_end() -> None:
    parser = MtSicsProtocol()
    readings = parser.feed(b"S S      12.34 kg\r\nS D      12.3")
    assert [r.weight for r in readings] == [Decimal("12.34")]
    assert parser.unfinished() == b"S D      12.3"
    assert parser.finish() == [Reading.unreadable(b"S D      12.3", error="incomplete")]


def test_nothing_held_after_a_whole_reply() -> None:
    parser = MtSicsProtocol()
    parser.feed(b"S S      12.34 kg\r\n")
    assert parser.unfinished() == b""
    assert parser.finish() == []

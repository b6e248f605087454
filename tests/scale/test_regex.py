"""The regular-expression protocol: options, decoding, framing and the emulator."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from drivers.scale.protocol import ProtocolOptionError
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.regex import MAX_FRAME_LENGTH, RegexEmulator, RegexProtocol, decode_terminator
from drivers.scale.registry import make_emulator, make_protocol
from drivers.scale.signal import UNREADABLE_ERRORS
from scale import chunking

# A Sartorius-like line without status: "+     12.34 kg"
SIGNED_NUMBER_UNIT = r"^(?P<weight>[+-]\s*[0-9.]+)\s+(?P<unit>[a-z]+)\s*$"
# A status-only line: "S    12.5" / "D    12.5" / "O" (overload instead of a number)
STATUS_LINE = r"^(?P<status>[SDOU])(?:\s+(?P<weight>-?[0-9.]+))?$"


def parse(data: bytes, options: Mapping[str, str] | None = None) -> list[Reading]:
    return RegexProtocol(options).feed(data)


def only(readings: list[Reading]) -> Reading:
    assert len(readings) == 1, readings
    return readings[0]


def assert_same_in_any_chunking(data: bytes, options: Mapping[str, str] | None = None) -> None:
    chunking.assert_same_in_any_chunking(lambda: RegexProtocol(options), data)


def test_registry_builds_parser_and_emulator() -> None:
    parser = make_protocol("regex")
    assert isinstance(parser, RegexProtocol)
    assert parser.polled is False
    assert isinstance(make_emulator("regex"), RegexEmulator)


# -- options -------------------------------------------------------------------------


def test_a_bad_regular_expression_is_refused_clearly() -> None:
    with pytest.raises(ProtocolOptionError, match="'pattern' is not a valid regular expression"):
        RegexProtocol({"pattern": r"(?P<weight>[0-9+"})


def test_a_pattern_without_weight_group_is_refused_clearly() -> None:
    with pytest.raises(ProtocolOptionError, match=r"\(\?P<weight>"):
        RegexProtocol({"pattern": r"(?P<gewicht>[0-9.]+)"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\r\n", b"\r\n"),
        (r"\r", b"\r"),
        (r"\x03", b"\x03"),
        (";", b";"),
        (r"\x02\x03", b"\x02\x03"),
    ],
)
def test_terminator_escapes_are_decoded(text: str, expected: bytes) -> None:
    assert decode_terminator(text) == expected


@pytest.mark.parametrize("text", ["", "\\x0", "\\", "€"])
def test_bad_terminators_are_refused(text: str) -> None:
    with pytest.raises(ProtocolOptionError, match="terminator"):
        RegexProtocol({"terminator": text})


@pytest.mark.parametrize("options", [{"decimal": ";"}, {"unit": " "}, {"colour": "red"}])
def test_other_wrong_options_are_refused_by_name(options: dict[str, str]) -> None:
    with pytest.raises(ProtocolOptionError, match=next(iter(options))):
        RegexProtocol(options)


# -- the default pattern -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "weight", "unit", "stable", "net"),
    [
        (b"ST,GS,+0012.34kg\r\n", "12.34", "kg", True, False),
        (b"US,GS,+0012.34kg\r\n", "12.34", "kg", False, False),
        (b"ST,NT,-0001.50kg\r\n", "-1.50", "kg", True, True),
        (b"ST,GS,+  12.5 lb\r\n", "12.5", "lb", True, False),
        (b"ST,GS,+0012.34\r\n", "12.34", "kg", True, False),  # unit from the option
        (b"ST,GS,-0000.00kg\r\n", "0.00", "kg", True, False),  # no negative zero
        (b"ST,GS,+0012.34KG\r\n", "12.34", "kg", True, False),  # known units lower-cased
    ],
)
def test_default_pattern(line: bytes, weight: str, unit: str, stable: bool, net: bool) -> None:
    reading = only(parse(line))
    assert reading.kind == "weight"
    assert str(reading.weight) == weight
    assert (reading.unit, reading.stable, reading.net) == (unit, stable, net)
    assert reading.raw == line.rstrip(b"\r\n")


@pytest.mark.parametrize(("status", "over", "under"), [(b"OL", True, False), (b"UL", False, True)])
def test_overload_and_underload_status(status: bytes, over: bool, under: bool) -> None:
    reading = only(parse(status + b",GS,+9999.99kg\r\n"))
    assert reading.kind == "status"
    assert reading.weight is None
    assert (reading.overload, reading.underload) == (over, under)


@pytest.mark.parametrize("line", [b"ST,GS,++12.34kg\r\n", b"hello\r\n", b"ST,GS,12,34kg\r\n"])
def test_lines_that_do_not_match_are_unreadable(line: bytes) -> None:
    reading = only(parse(line))
    assert (reading.kind, reading.error, reading.weight) == ("error", "unreadable", None)
    assert reading.raw == line.rstrip(b"\r\n")


# -- custom patterns -----------------------------------------------------------------


def test_pattern_without_status_says_nothing_about_stability_or_net() -> None:
    reading = only(parse(b"+     12.34 kg\r\n", {"pattern": SIGNED_NUMBER_UNIT}))
    assert reading.weight == Decimal("12.34")
    assert (reading.unit, reading.stable, reading.net) == ("kg", None, None)


def test_unit_option_when_the_pattern_has_no_unit_group() -> None:
    reading = only(parse(b"  1520\r\n", {"pattern": r"(?P<weight>[0-9]+)", "unit": "lb"}))
    assert (reading.weight, reading.unit) == (Decimal(1520), "lb")


def test_status_lists() -> None:
    options = {
        "pattern": STATUS_LINE,
        "stable": "S",
        "motion": "D",
        "overload": "O",
        "underload": "U",
    }
    readings = parse(b"S    12.5\r\nD    12.5\r\nO\r\nU\r\n", options)
    assert [r.stable for r in readings[:2]] == [True, False]
    assert [r.weight for r in readings[:2]] == [Decimal("12.5")] * 2
    assert [(r.kind, r.overload, r.underload) for r in readings[2:]] == [
        ("status", True, False),
        ("status", False, True),
    ]


def test_only_stable_values_given_means_everything_else_is_motion() -> None:
    options = {"pattern": STATUS_LINE, "stable": "S", "motion": ""}
    assert [r.stable for r in parse(b"S 1\r\nD 1\r\n", options)] == [True, False]


def test_only_motion_values_given_means_everything_else_is_stable() -> None:
    options = {"pattern": STATUS_LINE, "stable": "", "motion": "D"}
    assert [r.stable for r in parse(b"S 1\r\nD 1\r\n", options)] == [True, False]


def test_unknown_status_with_both_lists_is_not_known() -> None:
    options = {"pattern": STATUS_LINE, "stable": "S", "motion": "D"}
    assert only(parse(b"U 1\r\n", options)).stable is None


def test_net_and_gross_from_the_status_group_without_a_mode_group() -> None:
    options = {
        "pattern": r"^(?P<status>[GN])\s*(?P<weight>[0-9.]+)$",
        "net_status": "N",
        "gross_status": "G",
    }
    assert [r.net for r in parse(b"G 5.0\rN 5.0\r", options)] == [False, True]


def test_a_missing_weight_without_overload_is_unreadable() -> None:
    reading = only(parse(b"S\r\n", {"pattern": STATUS_LINE}))
    assert (reading.kind, reading.error) == ("error", "unreadable")


def test_decimal_comma() -> None:
    options = {"pattern": r"(?P<weight>-?[0-9]+,[0-9]+)\s*(?P<unit>kg)", "decimal": ","}
    assert only(parse(b"12,345 kg\r\n", options)).weight == Decimal("12.345")


def test_a_loose_pattern_never_gives_a_weight_from_a_malformed_number() -> None:
    options = {"pattern": r"(?P<weight>[-+0-9.]+)"}
    readings = parse(b"12.3.4\r\n--5\r\n1-2\r\n.\r\n", options)
    assert all(r.kind == "error" for r in readings)
    assert len(readings) == 4


def test_weights_are_exact_decimals() -> None:
    reading = only(parse(b"ST,GS,+0000.10kg\r\n"))
    assert isinstance(reading.weight, Decimal)
    assert reading.weight * 3 == Decimal("0.30")


# -- framing -------------------------------------------------------------------------


def test_custom_terminator() -> None:
    options = {"pattern": r"^\x02(?P<weight>[0-9.]+)(?P<unit>kg)$", "terminator": r"\x03"}
    data = b"\x0212.5kg\x03\x0212.6kg\x03"
    assert [r.weight for r in parse(data, options)] == [Decimal("12.5"), Decimal("12.6")]
    assert_same_in_any_chunking(data, options)


def test_cr_lf_and_crlf_all_end_a_frame_by_default() -> None:
    data = b"ST,GS,+1.0kg\rST,GS,+2.0kg\nST,GS,+3.0kg\r\n\r\n"
    assert [str(r.weight) for r in parse(data)] == ["1.0", "2.0", "3.0"]


def test_examples_in_any_chunking() -> None:
    data = (
        b"12.34kg\r\n"  # the tail of a line cut off when the port opened
        b"ST,GS,+0012.34kg\r\nUS,NT,-0001.50kg\r\nOL,GS,+9999.99kg\r\nST,GS,+0012.34kg\r\n"
    )
    assert_same_in_any_chunking(data)


def test_overlong_junk_is_unreadable_in_any_chunking() -> None:
    data = b"x" * (MAX_FRAME_LENGTH * 2 + 10) + b"\r\nST,GS,+0001.00kg\r\n"
    readings = parse(data)
    assert [r.kind for r in readings] == ["error", "error", "error", "weight"]
    assert_same_in_any_chunking(data)


# -- emulator round trip -------------------------------------------------------------


STATES = [
    IndicatorState(),
    IndicatorState(weight=Decimal("12.34")),
    IndicatorState(weight=Decimal("-1.5"), decimals=1, motion=True),
    IndicatorState(weight=Decimal("80.000"), tare=Decimal("20.000"), decimals=3),
    IndicatorState(weight=Decimal("14520"), decimals=0, unit="lb"),
]


@pytest.mark.parametrize("state", STATES)
def test_emulator_frames_parse_back_to_the_display(state: IndicatorState) -> None:
    frame = RegexEmulator().frame(state)
    reading = only(parse(frame))
    assert reading.weight == state.displayed
    assert reading.unit == state.unit
    assert reading.stable is (not state.motion)
    assert reading.net is state.net


def test_emulator_line_layout() -> None:
    assert RegexEmulator().frame(IndicatorState(weight=Decimal("12.34"))) == b"ST,GS,+0012.34kg\r\n"


@pytest.mark.parametrize(
    ("state", "over"),
    [(IndicatorState(overload=True), True), (IndicatorState(underload=True), False)],
)
def test_emulator_out_of_range(state: IndicatorState, over: bool) -> None:
    reading = only(parse(RegexEmulator().frame(state)))
    assert (reading.kind, reading.overload, reading.underload) == ("status", over, not over)


def test_emulator_uses_the_configured_tokens_and_terminator() -> None:
    options = {
        "stable": "SS,S",
        "motion": "MO",
        "gross_status": "GR",
        "net_status": "NE",
        "terminator": r"\r",
    }
    frame = RegexEmulator(options).frame(IndicatorState(weight=Decimal("2.50")))
    assert frame == b"SS,GR,+0002.50kg\r"
    reading = only(parse(frame, options))
    assert (reading.weight, reading.stable, reading.net) == (Decimal("2.50"), True, False)


# -- the end of the input ---------------------------------------------------------------


def test_a_line_without_its_terminator_is_incomplete_at_the_end() -> None:
    parser = RegexProtocol({"pattern": SIGNED_NUMBER_UNIT})
    readings = parser.feed(b"+     1.00 kg\r\n+     12.34 kg")
    assert [r.weight for r in readings] == [Decimal("1.00")]
    assert parser.unfinished() == b"+     12.34 kg"
    assert parser.finish() == [Reading.unreadable(b"+     12.34 kg", error="incomplete")]


def test_a_custom_terminator_is_awaited_too() -> None:
    parser = RegexProtocol({"pattern": SIGNED_NUMBER_UNIT, "terminator": ";"})
    assert len(parser.feed(b"+ 1.00 kg;+ 2.00 kg")) == 1
    assert parser.unfinished() == b"+ 2.00 kg"
    parser.feed(b";")
    assert parser.unfinished() == b""
    assert parser.finish() == []


# -- patterns that would take for ever ------------------------------------------------


@pytest.mark.parametrize(
    "pattern", [r"(?P<weight>(1+)+)$", r"(?P<weight>(1|11)+)$", r"^(?P<weight>([0-9]|[0-9]{2})+)$"]
)
def test_a_catastrophic_pattern_gives_an_error_frame(pattern: str) -> None:
    # Python's re backtracks through some 2**200 ways before it gives up on this frame.
    frame = b"1" * 200 + b"b"
    protocol = RegexProtocol({"pattern": pattern})
    bad, good = protocol.feed(frame + b"\r\n1111\r\n")
    assert (bad.kind, bad.weight, bad.raw) == ("error", None, frame)
    assert bad.error in ("unreadable", "timeout")
    assert bad.error in UNREADABLE_ERRORS
    # The parser goes on with the next frame.
    assert (good.kind, good.weight) == ("weight", Decimal(1111))


def test_max_length_option() -> None:
    options = {"max_length": "20"}
    readings = parse(b"ST,GS,+0012.34kg\r\n" + b"x" * 25 + b"\r\n", options)
    assert [r.kind for r in readings] == ["weight", "error", "error"]
    assert len(readings[1].raw) == 21
    assert [r.kind for r in parse(b"x" * 300 + b"\r\n")] == ["error", "error"]


@pytest.mark.parametrize("value", ["0", "7", "4097", "many", "-1"])
def test_a_wrong_max_length_is_refused(value: str) -> None:
    with pytest.raises(ProtocolOptionError, match="option 'max_length' must be a whole number"):
        RegexProtocol({"max_length": value})

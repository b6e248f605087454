"""The comma formats (A&D, Dini Argeo, generic indicators), from their manuals' frames."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.scale.comma import CommaEmulator, CommaProtocol, parse_number
from drivers.scale.protocol import ProtocolOptionError
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.registry import make_emulator, make_protocol
from tests.fuzzing import examples, fuzz

# (frame, weight, unit, stable, overload, underload, net, kind)
MANUAL_FRAMES: list[
    tuple[bytes, str | None, str | None, bool | None, bool, bool, bool | None, str]
] = [
    # A&D balances (FX-i, GX, EK manuals, "Data format" examples)
    (b"ST,+00123.45  g", "123.45", "g", True, False, False, None, "weight"),
    (b"ST,+001234.5  g", "1234.5", "g", True, False, False, None, "weight"),
    (b"US,-00000.00  g", "0.00", "g", False, False, False, None, "weight"),
    (b"US,-00183.69  g", "-183.69", "g", False, False, False, None, "weight"),
    (b"QT,+0000012 PC", None, "pcs", True, False, False, None, "status"),
    (b"QT,+00012345 PC", None, "pcs", True, False, False, None, "status"),
    (b"ST,+000123.4  %", None, "%", True, False, False, None, "status"),
    (b"OL,+9999999E+19", None, None, None, True, False, None, "status"),
    (b"OL,-9999999E+19", None, None, None, False, True, None, "status"),
    (b"OL,+999999.9  g", None, "g", None, True, False, None, "status"),
    (b"ST,+0001.2346 kg", "1.2346", "kg", True, False, False, None, "weight"),
    (b"WT,+001.2346 kg", "1.2346", "kg", True, False, False, None, "weight"),
    # Generic indicator, A&D AD-4406 13.2
    (b"ST,GS,+0012.34kg", "12.34", "kg", True, False, False, False, "weight"),
    (b"US,NT,+0001.20kg", "1.20", "kg", False, False, False, True, "weight"),
    (b"ST,NT,-0000.40kg", "-0.40", "kg", True, False, False, True, "weight"),
    (b"ST,G,+00123.4 kg", "123.4", "kg", True, False, False, False, "weight"),
    (b"ST,GS,+000012. t", "12", "t", True, False, False, False, "weight"),
    (b"ST,GS,+0012,34kg", "12.34", "kg", True, False, False, False, "weight"),
    (b"HD,GS,+0012.34kg", "12.34", "kg", None, False, False, False, "weight"),
    (b"OL,GS,+    .  kg", None, "kg", None, True, False, False, "status"),
    (b"OL,GS,-    .  kg", None, "kg", None, False, True, False, "status"),
    (b"ST,TR,+0001.20kg", None, "kg", True, False, False, None, "status"),
    (b"ST,GS,+00123.4lb", "123.4", "lb", True, False, False, False, "weight"),
    (b"ST,GS,+ 12.34 kg", "12.34", "kg", True, False, False, False, "weight"),
    (b"ST,GS,- 12.34 oz", "-12.34", "oz", True, False, False, False, "weight"),
    # Kern KXS/KXG data output format (3-character unit field)
    (b"US,GS,+01234.56  lb", "1234.56", "lb", False, False, False, False, "weight"),
    # Dini Argeo 3590 (E-AF03) 5.4 STANDARD string, with and without RS-485 address
    (b"01ST,GS,   12.34,kg", "12.34", "kg", True, False, False, False, "weight"),
    (b"ST,NT,   -1.20,Kg", "-1.20", "kg", True, False, False, True, "weight"),
    (b"00US,GS,  1250.0,kg", "1250.0", "kg", False, False, False, False, "weight"),
    (b"01UL,GS,   -0.10,kg", None, "kg", None, False, True, False, "status"),
    (b"01OL,GS,  999999,kg", None, "kg", None, True, False, False, "status"),
    # Dini Argeo 3590 5.6 REXT extended string
    (
        b"1,ST,     12.34,PT      1.50,         0,         0,kg",
        "12.34",
        "kg",
        True,
        False,
        False,
        True,
        "weight",
    ),
    (
        b"011,US,      3.20,        0.00,         0,         0,kg",
        "3.20",
        "kg",
        False,
        False,
        False,
        False,
        "weight",
    ),
]


def decode(frame: bytes, **options: str) -> list[Reading]:
    return CommaProtocol(options).feed(frame + b"\r\n")


@pytest.mark.parametrize("row", MANUAL_FRAMES, ids=[r[0].decode() for r in MANUAL_FRAMES])
def test_manual_frames(
    row: tuple[bytes, str | None, str | None, bool | None, bool, bool, bool | None, str],
) -> None:
    frame, weight, unit, stable, overload, underload, net, kind = row
    (reading,) = decode(frame)
    assert reading.kind == kind
    assert reading.weight == (None if weight is None else Decimal(weight))
    if weight is not None:
        assert isinstance(reading.weight, Decimal)
        assert str(reading.weight) == weight
    assert reading.unit == unit
    assert reading.stable is stable
    assert reading.overload is overload
    assert reading.underload is underload
    assert reading.net is net
    assert reading.raw == frame
    assert reading.error is None


ALL_MANUAL = b"".join(row[0] + b"\r\n" for row in MANUAL_FRAMES)
EXPECTED_ALL = CommaProtocol().feed(ALL_MANUAL)


def test_all_manual_frames_in_one_stream() -> None:
    assert len(EXPECTED_ALL) == len(MANUAL_FRAMES)
    assert all(r.kind != "error" for r in EXPECTED_ALL)


@pytest.mark.parametrize("position", range(0, len(ALL_MANUAL) + 1))
def test_split_at_every_position_gives_the_same_readings(position: int) -> None:
    protocol = CommaProtocol()
    readings = protocol.feed(ALL_MANUAL[:position]) + protocol.feed(ALL_MANUAL[position:])
    assert readings == EXPECTED_ALL


def test_byte_by_byte_gives_the_same_readings() -> None:
    protocol = CommaProtocol()
    readings: list[Reading] = []
    for i in range(len(ALL_MANUAL)):
        readings.extend(protocol.feed(ALL_MANUAL[i : i + 1]))
    assert readings == EXPECTED_ALL


class TestDecimalExactness:
    @pytest.mark.parametrize(
        ("text", "expected", "exponent"),
        [
            ("+0012.34", "12.34", -2),
            ("0012.34", "12.34", -2),
            ("+00000.00", "0.00", -2),
            ("-00000.00", "0.00", -2),
            ("  -1.20", "-1.20", -2),
            ("+001234.5", "1234.5", -1),
            ("+0000012", "12", 0),
            ("+1234.", "1234", 0),
            ("12,340", "12.340", -3),
            (".5", "0.5", -1),
            ("- 3.000", "-3.000", -3),
        ],
    )
    def test_value_as_sent(self, text: str, expected: str, exponent: int) -> None:
        value = parse_number(text)
        assert isinstance(value, Decimal)
        assert str(value) == expected
        assert value.as_tuple().exponent == exponent

    @pytest.mark.parametrize(
        "text",
        ["", "+", "12.3.4", "1 2", "+-1", "1e5", "0x12", "--1", "1234567890123", "12a", "."],
    )
    def test_malformed_numbers_are_refused(self, text: str) -> None:
        assert parse_number(text) is None

    def test_no_float_anywhere(self) -> None:
        (reading,) = decode(b"ST,GS,+0000.10kg")
        assert type(reading.weight) is Decimal
        assert reading.weight == Decimal("0.10")
        assert reading.grams == 100
        assert reading.to_json_dict()["weight"] == "0.10"


def is_unreadable(reading: Reading, raw: bytes | None = None) -> bool:
    return (
        reading.kind == "error"
        and reading.error == "unreadable"
        and reading.weight is None
        and (raw is None or reading.raw == raw)
    )


class TestGarbage:
    @pytest.mark.parametrize(
        "frame",
        [
            b"ST,GS,+0012.3.4kg",  # two decimal points
            b"ST,GS,+00 12.34kg",  # a space inside the digits
            b"ST,GS,+0012.34",  # cut before the unit
            b"ST,GS,+0012.34km",  # not a unit
            b"ST,GS,",  # cut after the headers
            b"ST,XX,+0012.34kg",  # unknown header 2
            b"SX,GS,+0012.34kg",  # unknown header 1
            b"ST;GS;+0012.34kg",  # wrong separator
            b"GS,+0012.34kg",  # header 1 lost
            b"T,GS,+0012.34kg",  # first byte lost
            b"ST,GS,+0012.34kgST,GS,+0012.34kg",  # a lost terminator
            b"ST,GS,+1e5kg",
            b"\x00\xffST,GS,+0012.34kg",  # noise before a frame
            b"ST,GS,+0012.34kg\x00",  # noise after it
            b"ST,GS,+0012.34\xe9kg",  # a flipped high bit
            b"garbage",
            b"1,ST,     12.34,PT      1.50,         0,kg",  # extended string, field lost
            b"ST,+00123.45  g  g",
        ],
    )
    def test_malformed_frames_are_unreadable_with_their_raw_bytes(self, frame: bytes) -> None:
        (reading,) = decode(frame)
        assert is_unreadable(reading, frame)

    def test_blank_and_space_only_lines_give_nothing(self) -> None:
        assert CommaProtocol().feed(b"\r\n   \r\n\n\r") == []

    def test_recovers_after_garbage_and_a_partial_frame(self) -> None:
        protocol = CommaProtocol()
        # The port opened mid-frame: the first line is the tail of a frame.
        readings = protocol.feed(b"2.34kg\r\n\x8f\x13\xff\r\nST,GS,+0012.34kg\r\n")
        assert [r.kind for r in readings] == ["error", "error", "weight"]
        assert readings[2].weight == Decimal("12.34")

    def test_wrong_baud_rate_noise_never_gives_a_weight(self) -> None:
        good = b"ST,GS,+0012.34kg\r\n" * 20
        # At a wrong baud rate the bits land in the wrong places: every byte changes.
        noise = bytes(((b << 3) | (b >> 5)) & 0xFF for b in good)
        readings = CommaProtocol().feed(noise)
        assert readings
        assert all(is_unreadable(r) for r in readings)

    def test_long_noise_without_terminator_is_reported_and_bounded(self) -> None:
        protocol = CommaProtocol()
        readings = protocol.feed(b"\xaa" * 1000)
        assert readings and all(is_unreadable(r) for r in readings)
        assert protocol.feed(b"\r\nST,GS,+0000.50kg\r\n")[-1].weight == Decimal("0.50")

    def test_indicator_error_is_an_error_reading(self) -> None:
        (reading,) = decode(b"1,ER,     12.34,        0.00,         0,         0,kg")
        assert reading.kind == "error"
        assert reading.error == "indicator"
        assert reading.weight is None


class TestOptions:
    def test_unit_option_for_indicators_without_a_unit(self) -> None:
        (reading,) = decode(b"ST,GS,+0012.34", unit="kg")
        assert reading.kind == "weight"
        assert (reading.weight, reading.unit) == (Decimal("12.34"), "kg")

    def test_address_option_ignores_other_indicators_on_the_bus(self) -> None:
        protocol = CommaProtocol({"address": "2"})
        readings = protocol.feed(
            b"01ST,GS,   11.00,kg\r\n02ST,GS,   22.00,kg\r\nST,GS,   33.00,kg\r\n"
        )
        assert [r.weight for r in readings] == [Decimal("22.00")]

    @pytest.mark.parametrize(
        "options",
        [{"address": "abc"}, {"address": "123"}, {"unit": "stone"}, {"format": "x"}, {"baud": "1"}],
    )
    def test_bad_options_are_refused_with_their_name(self, options: dict[str, str]) -> None:
        with pytest.raises(ProtocolOptionError, match=next(iter(options))):
            CommaProtocol(options)
        with pytest.raises(ProtocolOptionError, match=next(iter(options))):
            CommaEmulator(options)

    def test_registry_and_serial_defaults(self) -> None:
        protocol = make_protocol("comma")
        assert isinstance(protocol, CommaProtocol)
        assert not protocol.polled
        assert protocol.weight_request() is None
        defaults = protocol.serial_defaults
        assert (defaults.baudrate, defaults.bytesize, defaults.parity, defaults.stopbits) == (
            9600,
            8,
            "N",
            1,
        )
        assert isinstance(make_emulator("comma"), CommaEmulator)


class TestEmulator:
    def test_default_is_the_generic_indicator_format(self) -> None:
        emulator = CommaEmulator()
        assert emulator.frame(IndicatorState(weight=Decimal("12.34"))) == b"ST,GS,+0012.34kg\r\n"
        moving = IndicatorState(weight=Decimal("12.34"), motion=True)
        assert emulator.frame(moving) == b"US,GS,+0012.34kg\r\n"
        tared = IndicatorState(weight=Decimal("12.34"), tare=Decimal("1.20"))
        assert emulator.frame(tared) == b"ST,NT,+0011.14kg\r\n"
        assert emulator.frame(IndicatorState(overload=True)) == b"OL,GS,+    .  kg\r\n"
        assert emulator.frame(IndicatorState(underload=True)) == b"OL,GS,-    .  kg\r\n"

    def test_ad_and_dini_formats(self) -> None:
        state = IndicatorState(weight=Decimal("12.34"))
        assert CommaEmulator({"format": "ad"}).frame(state) == b"ST,+00012.34 kg\r\n"
        assert (
            CommaEmulator({"format": "ad"}).frame(IndicatorState(overload=True))
            == b"OL,+9999999E+19\r\n"
        )
        dini = CommaEmulator({"format": "dini", "address": "01"})
        assert dini.frame(state) == b"01ST,GS,   12.34,kg\r\n"
        assert dini.frame(IndicatorState(underload=True)).startswith(b"01UL,GS,")
        extended = CommaEmulator({"format": "dini-ext"}).frame(state)
        assert extended == b"1,ST,     12.34,        0.00,         0,         0,kg\r\n"

    @fuzz
    @settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
    @given(
        fmt=st.sampled_from(["indicator", "ad", "dini", "dini-ext"]),
        hundredths=st.integers(min_value=-99_999, max_value=999_999),
        tare=st.integers(min_value=0, max_value=5000),
        motion=st.booleans(),
        overload=st.booleans(),
        underload=st.booleans(),
        unit=st.sampled_from(["kg", "g", "t", "lb"]),
    )
    def test_every_state_reads_back(
        self,
        fmt: str,
        hundredths: int,
        tare: int,
        motion: bool,
        overload: bool,
        underload: bool,
        unit: str,
    ) -> None:
        state = IndicatorState(
            weight=Decimal(hundredths).scaleb(-2),
            tare=Decimal(tare).scaleb(-2),
            motion=motion,
            overload=overload,
            underload=underload,
            unit=unit,
        )
        parser = CommaProtocol()
        parser.capacity_kg = Decimal(10**7)  # the format's whole range, not one site's scale
        (reading,) = parser.feed(CommaEmulator({"format": fmt}).frame(state))
        if overload or underload:
            assert reading.kind == "status"
            assert reading.weight is None
            assert reading.overload is overload
            assert reading.underload is (underload and not overload)
            return
        assert reading.kind == "weight"
        assert reading.weight == state.displayed
        assert str(reading.weight) == str(state.displayed).replace("-0.00", "0.00")
        assert reading.unit == unit
        assert reading.stable is (not motion)
        if fmt != "ad":  # the balance format has no gross/net field
            assert reading.net is state.net


# An oracle written apart from the parser: what a well-formed weight frame looks like.
_WELL_FORMED = re.compile(
    r" *(\d\d)?(ST|US|WT|HD),((GS|NT|G|N) *,)? *(?P<sign>[+-])? *(?P<num>\d+(?:[.,]\d*)?|[.,]\d+)"
    r"(,|) *(?i:kg|g|t|lb|oz) *"
)
_WELL_FORMED_EXTENDED = re.compile(
    r"(\d\d)?\d,(ST|US), *(?P<sign>[+-])? *(?P<num>\d+(\.\d*)?|\.\d+),(PT|  )?"
    r"(?: *[+-]? *(\d+(\.\d*)?|\.\d+),){3} *(?i:kg|g|t|lb|oz) *"
)


def assert_weights_are_well_formed(readings: list[Reading]) -> None:
    for reading in readings:
        if reading.kind != "weight":
            assert reading.weight is None or reading.kind != "error"
            continue
        text = reading.raw.decode("ascii")
        match = _WELL_FORMED.fullmatch(text) or _WELL_FORMED_EXTENDED.fullmatch(text)
        assert match is not None, f"weight {reading.weight} from malformed frame {text!r}"
        number = Decimal(match["num"].replace(",", "."))
        expected = -number if match["sign"] == "-" else number
        assert reading.weight == expected
        assert isinstance(reading.weight, Decimal)


class TestFuzz:
    @fuzz
    @settings(max_examples=examples(500))
    @given(data=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=300))
    def test_random_bytes_never_raise(self, data: bytes, cut: int) -> None:
        protocol = CommaProtocol()
        readings = protocol.feed(data[:cut]) + protocol.feed(data[cut:])
        assert_weights_are_well_formed(readings)

    @fuzz
    @settings(max_examples=examples(500))
    @given(
        data=st.lists(
            st.sampled_from(
                [b"ST", b"US", b"OL", b"QT", b",", b"GS", b"NT", b"+", b"-", b" ", b"0", b"1",
                 b"9", b".", b"kg", b"g", b"PC", b"E", b"\r\n", b"\r", b"01", b"PT", b"\xff"]
            ),
            max_size=40,
        ).map(b"".join)
    )  # fmt: skip
    def test_frame_like_noise_never_gives_a_malformed_weight(self, data: bytes) -> None:
        assert_weights_are_well_formed(CommaProtocol().feed(data))

    @fuzz
    @settings(max_examples=examples(500))
    @given(
        index=st.integers(min_value=0, max_value=len(MANUAL_FRAMES) - 1),
        position=st.integers(min_value=0, max_value=80),
        byte=st.integers(min_value=0, max_value=255),
    )
    def test_a_flipped_byte_never_raises_nor_gives_a_malformed_weight(
        self, index: int, position: int, byte: int
    ) -> None:
        frame = bytearray(MANUAL_FRAMES[index][0])
        frame[position % len(frame)] = byte
        readings = CommaProtocol().feed(bytes(frame) + b"\r\n")
        assert_weights_are_well_formed(readings)
        if byte >= 0x80 or (byte < 0x20 and byte not in (0x0A, 0x0D)):
            assert all(r.kind == "error" for r in readings)


# -- the end of the input ---------------------------------------------------------------


def test_a_last_frame_without_its_terminator_is_incomplete_not_lost() -> None:
    parser = CommaProtocol()
    readings = parser.feed(b"ST,GS,+0001.00kg\r\nST,GS,+0012.34kg")
    assert [r.weight for r in readings] == [Decimal("1.00")]
    assert parser.unfinished() == b"ST,GS,+0012.34kg"
    assert parser.finish() == [Reading.unreadable(b"ST,GS,+0012.34kg", error="incomplete")]


def test_nothing_held_after_whole_frames() -> None:
    parser = CommaProtocol()
    parser.feed(b"ST,GS,+0001.00kg\r")  # CR ends it; an LF may still follow
    assert parser.unfinished() == b""
    assert parser.finish() == []
    assert CommaProtocol().finish() == []


def test_unfinished_follows_the_stream_in_any_chunking() -> None:
    data = b"ST,GS,+0001.00kg\r\nUS,NT,-00"
    for cut in range(len(data) + 1):
        parser = CommaProtocol()
        parser.feed(data[:cut])
        parser.feed(data[cut:])
        assert parser.unfinished() == b"US,NT,-00", cut

"""Gram conversion and the decode line: exact factors, half-even rounding, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.reading import GRAMS_PER_UNIT, Reading, to_grams

# DESIGN.md section 4: the keys of one `counter scale decode` line, in order.
DECODE_KEYS = ["weight", "unit", "stable", "overload", "underload", "net", "kind", "raw"]


class TestFactors:
    def test_exact_factors(self) -> None:
        # The international pound (1959) is exactly 0.45359237 kg; the avoirdupois
        # ounce is a sixteenth of it.
        assert dict(GRAMS_PER_UNIT) == {
            "g": Decimal(1),
            "kg": Decimal(1000),
            "t": Decimal(1_000_000),
            "lb": Decimal("453.59237"),
            "oz": Decimal("28.349523125"),
        }
        assert GRAMS_PER_UNIT["oz"] * 16 == GRAMS_PER_UNIT["lb"]

    def test_every_factor_is_a_decimal(self) -> None:
        assert all(type(factor) is Decimal for factor in GRAMS_PER_UNIT.values())


class TestToGrams:
    @pytest.mark.parametrize(
        ("weight", "unit", "grams"),
        [
            ("12.34", "kg", 12340),
            ("0.001", "kg", 1),
            ("1250", "g", 1250),
            ("1.5", "t", 1_500_000),
            ("0.000001", "t", 1),
            # 100000 lb is exactly 45359237 g: any other factor shows in the last digits.
            ("100000", "lb", 45_359_237),
            ("1", "lb", 454),  # 453.59237
            ("2.5", "lb", 1134),  # 1133.980925
            # 1000000 oz = 28349523.125 g
            ("1000000", "oz", 28_349_523),
            ("8", "oz", 227),  # 226.796185
            ("16", "oz", 454),  # one pound
        ],
    )
    def test_units(self, weight: str, unit: str, grams: int) -> None:
        assert to_grams(Decimal(weight), unit) == grams

    def test_pound_and_ounce_keep_every_digit(self) -> None:
        # 10**8 lb = 45359237000 g and 8 * 10**9 oz = 226796185000 g: exact, not 4.536e10.
        assert to_grams(Decimal("100000000"), "lb") == 45_359_237_000
        assert to_grams(Decimal("8000000000"), "oz") == 226_796_185_000

    @pytest.mark.parametrize("unit", ["KG", "Kg", "LB", "Oz", "G", "T"])
    def test_unit_case_does_not_matter(self, unit: str) -> None:
        assert to_grams(Decimal(2), unit) == to_grams(Decimal(2), unit.lower())

    @pytest.mark.parametrize(
        ("weight", "unit", "grams"),
        [
            ("0.0125", "kg", 12),  # 12.5 g: to the even 12
            ("0.0135", "kg", 14),  # 13.5 g: to the even 14
            ("0.0126", "kg", 13),  # above the tie: up
            ("0.0124", "kg", 12),  # below the tie: down
            ("2.5", "g", 2),
            ("3.5", "g", 4),
            ("0.0000005", "t", 0),  # 0.5 g
            ("0.0000015", "t", 2),  # 1.5 g
            # 0.5 oz = 14.1747615625 g; 0.25 lb = 113.3980925 g
            ("0.5", "oz", 14),
            ("0.25", "lb", 113),
        ],
    )
    def test_rounds_half_to_even(self, weight: str, unit: str, grams: int) -> None:
        assert to_grams(Decimal(weight), unit) == grams

    @pytest.mark.parametrize(
        ("weight", "unit", "grams"),
        [
            ("-12.34", "kg", -12340),
            ("-0.0125", "kg", -12),  # -12.5 g: to the even -12, not away from zero
            ("-0.0135", "kg", -14),  # -13.5 g: to the even -14, not towards zero
            ("-0.0126", "kg", -13),
            ("-100000", "lb", -45_359_237),
            ("-1", "oz", -28),
        ],
    )
    def test_negative_weights(self, weight: str, unit: str, grams: int) -> None:
        # A net weight below zero (tare heavier than the load) converts symmetrically.
        assert to_grams(Decimal(weight), unit) == grams

    def test_zero_has_no_sign(self) -> None:
        assert to_grams(Decimal("-0.000"), "kg") == 0
        assert to_grams(Decimal("-0.0004"), "kg") == 0

    def test_result_is_an_int(self) -> None:
        for unit in GRAMS_PER_UNIT:
            assert type(to_grams(Decimal("1.23"), unit)) is int
        assert type(to_grams(Decimal("1E+3"), "kg")) is int

    def test_decimal_input_keeps_exactness(self) -> None:
        # 1.0005 kg is 1000.5 g exactly (a tie, to the even 1000); 1.0015 kg -> 1002.
        assert to_grams(Decimal("1.0005"), "kg") == 1000
        assert to_grams(Decimal("1.0015"), "kg") == 1002
        # Many digits after the point: still exact.
        assert to_grams(Decimal("12345.6784999999"), "kg") == 12_345_678
        assert to_grams(Decimal("12345.6785000001"), "kg") == 12_345_679

    def test_whole_numbers_as_int_are_exact_too(self) -> None:
        assert to_grams(12, "kg") == 12000  # type: ignore[arg-type]

    def test_a_float_is_refused(self) -> None:
        # Weights are never floats: a float must fail loudly, not convert silently.
        with pytest.raises(TypeError):
            to_grams(12.34, "kg")  # type: ignore[arg-type]

    @pytest.mark.parametrize("unit", ["pcs", "", "kilo", "N", "lbs"])
    def test_an_unknown_unit_is_a_value_error(self, unit: str) -> None:
        with pytest.raises(ValueError, match="cannot convert unit"):
            to_grams(Decimal(1), unit)


class TestReadingGrams:
    def test_converts_its_own_weight(self) -> None:
        assert Reading(Decimal("12.34"), "kg").grams == 12340
        assert Reading(Decimal("100000"), "lb").grams == 45_359_237
        assert Reading(Decimal("-0.0125"), "kg").grams == -12

    def test_none_when_there_is_nothing_to_convert(self) -> None:
        assert Reading(Decimal(5), "pcs").grams is None  # a piece count
        assert Reading(None, "kg").grams is None
        assert Reading(Decimal(5), None).grams is None
        assert Reading.unreadable(b"\xff").grams is None


class TestDecodeLine:
    def test_keys_are_the_design_contract(self) -> None:
        assert list(Reading().to_json_dict()) == DECODE_KEYS
        assert list(Reading.unreadable(b"x", error="incomplete").to_json_dict()) == DECODE_KEYS

    def test_values(self) -> None:
        reading = Reading(
            Decimal("12.30"),
            "kg",
            True,
            net=False,
            raw=b"ST,GS,+0012.30kg\xff",
            tare=Decimal("1.00"),
            error=None,
        )
        assert reading.to_json_dict() == {
            "weight": "12.30",  # the frame's digits, trailing zero kept
            "unit": "kg",
            "stable": True,
            "overload": False,
            "underload": False,
            "net": False,
            "kind": "weight",
            "raw": "ST,GS,+0012.30kg\xff",  # latin-1: every byte stays one character
        }

    def test_an_unreadable_frame(self) -> None:
        assert Reading.unreadable(b"\x00\x9a", error="incomplete").to_json_dict() == {
            "weight": None,
            "unit": None,
            "stable": None,
            "overload": False,
            "underload": False,
            "net": None,
            "kind": "error",
            "raw": "\x00\x9a",
        }

"""The comma-separated formats of A&D, Dini Argeo and many generic indicators.

All of them are one ASCII line per reading, ended by CR LF, with a two-letter status
header and comma separators. The parser reads every variant below without being
told which one is connected; each frame is checked on its own.

Generic indicator, A&D AD-4406 (instruction manual, 13.2 "Data Format"; also Kern
KXS/KXG "Data output format")::

    ST,GS,+0012.34kg        header 1, header 2, 8 characters of data, unit
    US,NT,+0001.20kg
    OL,GS,+    .  kg        out of range: digits replaced by spaces

    Header 1: ST stable, US unstable, OL out of range, HD hold data.
    Header 2: GS or G gross, NT or N net, TR or T tare.
    Data: sign first ("+" for zero), 8 characters including sign and decimal point
    (a dot, or a comma when so configured). Unit: 2 characters ("kg", " g", " t",
    "lb"), or 3 when the indicator is set so.

A&D balances, FX-i/FZ-i, GX/GF, EK (instruction manuals, "Data format")::

    ST,+00123.45  g         header, 9 characters of data, 3 characters of unit
    QT,+0000012 PC          counting mode: a piece count, not a weight
    US,-00000.00  g
    OL,+9999999E+19         out of range, positive (GX, AD-4212D); "-": negative

    Header: ST stable, US unstable, QT stable count, OL out of range (WT is the
    stable header of the optional "WT" setting of A&D counting scales, HC-i).

Dini Argeo 3590 series (technical manual E-AF03, 5.4 "Transmission protocols",
"STANDARD" string)::

    [CC]HH,KK,PPPPPPPP,UM<CR LF>      e.g. 01ST,GS,   12.34,kg

    CC: two-digit instrument address, only with the RS-485 protocol. HH: UL
    underload, OL overload, ST stable, US unstable. KK: NT net, GS gross.
    PPPPPPPP: weight, 8 characters including the possible sign and decimal point.
    UM: unit ("Kg", "g", "t", "lb"), after its own comma.

Dini Argeo 3590 extended string (same manual, 5.6, answer to ``REXT``; also sent by
the "Extended" PC-port protocol)::

    [CC]B,hh,NNNNNNNNNN,YYTTTTTTTTTT,PPPPPPPPPP,MMMMMMMMMM,uu<CR LF>
    e.g. 1,ST,     12.34,PT      1.50,         0,         0,kg

    B: scale number. hh: UL/OL/ST/US as above (ER: remote scale in error).
    NNNNNNNNNN: net weight on 10 characters. YY: "PT" for a preset tare, two spaces
    for a weighed one. TTTTTTTTTT: tare on 10 characters. P and M fields: always 0.

What a frame gives:

* ST/US (and WT/HD) with a mass unit: ``kind="weight"``, the weight as a
  ``Decimal`` exactly as sent (leading zeros and padding go, the decimals stay:
  "+0012.34" is ``Decimal("12.34")``, "+00000.00" is ``Decimal("0.00")``).
* OL/UL: ``kind="status"`` with ``overload``/``underload`` and no weight (the digits
  of an out-of-range frame are a placeholder). OL with a "-" sign is under range.
* QT, or a count/percentage unit: ``kind="status"``, no weight (not a mass).
* TR (a tare frame): ``kind="status"``, the value in ``tare``, no weight.
* ER (Dini remote scale error): ``kind="error"``, ``error="indicator"``.
* A weight frame without a unit is unreadable unless the ``unit`` option says
  which unit the indicator means.
* Anything else (noise, a wrong baud rate, a cut frame, a malformed number):
  ``kind="error"``, ``error="unreadable"``, ``raw`` = the frame. Never an exception,
  never a weight from a field that is not a well-formed number.

Serial line: 9600 bit/s, 8 data bits, no parity, 1 stop bit is the usual factory
setting of the generic and Dini Argeo indicators; A&D balances leave the factory at
2400 bit/s, 7 bits, even parity (FX-i/GX function table, "bPS" and "btPr"), so a
site with an A&D balance sets ``baudrate``, ``bytesize`` and ``parity`` in [scale].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from drivers.scale.framing import LineFramer, OverlongFrame
from drivers.scale.protocol import (
    IndicatorEmulator,
    ProtocolOptionError,
    ScaleProtocol,
    SerialDefaults,
)
from drivers.scale.reading import IndicatorState, Reading

# The longest legal frame is the Dini extended string (about 60 characters with an
# address); anything much longer is noise.
MAX_FRAME_LENGTH = 96
# More digits than any indicator display has: such a number is noise, not a weight.
MAX_DIGITS = 12

MASS_UNITS: dict[str, str] = {"kg": "kg", "g": "g", "t": "t", "lb": "lb", "oz": "oz"}
# Units that are not a mass (A&D balance modes): the frame is a status, not a weight.
OTHER_UNITS: dict[str, str] = {
    "pc": "pcs",
    "pcs": "pcs",
    "%": "%",
    "ozt": "ozt",
    "ct": "ct",
    "mom": "mom",
    "dwt": "dwt",
    "gn": "GN",
    "n": "N",
    "tl": "tl",
    "ds": "DS",
}
_UNIT_PATTERN = "|".join(
    re.escape(u) for u in sorted({*MASS_UNITS, *OTHER_UNITS}, key=len, reverse=True)
)

# Header 1 (status) and header 2 (gross/net/tare), in all their spellings above.
_STATUS = r"(?P<status>ST|US|OL|UL|QT|WT|HD|ER)"
_MODE = r"(?P<mode>GS|NT|TR|G|N|T)"

# A&D, generic indicator and Dini standard string. The value is taken lazily so that
# the unit (after optional spaces or a comma) is whatever is left at the end.
_LINE = re.compile(
    rf"""
    (?P<address>\d{{2}})?
    {_STATUS}
    ,
    (?:{_MODE}\ *,)?
    (?P<value>[\ +\-0-9.,E]*?)
    (?:,\ *|\ *)
    (?P<unit>(?i:{_UNIT_PATTERN}))?
    \ *
    """,
    re.VERBOSE,
)

# Dini Argeo extended string (REXT answer).
_EXTENDED = re.compile(
    rf"""
    (?P<address>\d{{2}})?
    (?P<scale>\d)
    ,
    {_STATUS}
    ,
    (?P<value>[\ +\-0-9.]+)
    ,
    (?P<preset>PT|\ \ )?(?P<tare>[\ +\-0-9.]+)
    ,
    (?P<p>[\ +\-0-9.]+)
    ,
    (?P<m>[\ +\-0-9.]+)
    ,
    \ *(?P<unit>(?i:{_UNIT_PATTERN}))
    \ *
    """,
    re.VERBOSE,
)

# One number as indicators send it: sign attached or apart, padding spaces, a dot or
# a comma as decimal separator. Nothing else: no exponent, no inner spaces.
_NUMBER = re.compile(r" *(?P<sign>[+-])? *(?P<digits>\d+(?:[.,]\d*)?|[.,]\d+)")
# What an out-of-range frame may hold in place of the digits.
_PLACEHOLDER = re.compile(r"[ +\-0-9.,]*(?:E[+-]?\d+)?")


def parse_number(text: str) -> Decimal | None:
    """The value of a weight field exactly as sent, or ``None`` if it is malformed.

    Leading zeros and padding are dropped, the number of decimals is kept, and a
    negative zero is written as zero (indicators send "-00000.00" while unloading).
    """
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    digits = match["digits"].replace(",", ".")
    if len(digits) - ("." in digits) > MAX_DIGITS:  # the pattern allows one separator
        return None
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    if match["sign"] == "-" and not value.is_zero():
        value = -value
    return value


def _normalize_unit(unit: str | None) -> tuple[str | None, bool]:
    """(unit as we name it, whether it is a mass)."""
    if unit is None:
        return None, False
    key = unit.lower()
    if key in MASS_UNITS:
        return MASS_UNITS[key], True
    return OTHER_UNITS[key], False


class CommaProtocol(ScaleProtocol):
    """Parser for the comma formats (streaming; see the module docstring)."""

    name: ClassVar[str] = "comma"
    serial_defaults: ClassVar[SerialDefaults] = SerialDefaults(9600, 8, "N", 1)
    polled: ClassVar[bool] = False
    options_help: ClassVar[Mapping[str, str]] = {
        "address": "two-digit RS-485 address; frames from other addresses are ignored",
        "unit": "unit to assume when a frame has none (kg, g, t, lb, oz)",
        "format": "emulator output format (indicator, ad, dini, dini-ext); "
        "the parser reads them all",
    }

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self.address = _address_option(self.options)
        self.default_unit = _unit_option(self.options)
        _format_option(self.options)
        self._framer = LineFramer(max_length=MAX_FRAME_LENGTH)

    def reset(self) -> None:
        """Drop a partial frame (the transport calls this after a reconnect)."""
        self._framer.reset()

    def unfinished(self) -> bytes:
        return self._framer.buffered

    def feed(self, data: bytes) -> list[Reading]:
        readings: list[Reading] = []
        for frame in self._framer.feed(data):
            reading = self.decode_frame(frame)
            if reading is not None:
                readings.append(reading)
        return readings

    def decode_frame(self, frame: bytes) -> Reading | None:
        """Decode one frame (without its terminator).

        ``None`` for a frame that is not for us: a blank line, or another address
        on an RS-485 bus when the ``address`` option is set.
        """
        raw = bytes(frame)
        if isinstance(frame, OverlongFrame):
            return Reading.unreadable(raw)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return Reading.unreadable(raw)
        if not text.isprintable():
            return Reading.unreadable(raw)
        text = text.strip(" ")
        if not text:
            return None
        match = _LINE.fullmatch(text)
        if match is not None:
            return self._decode_line(match, raw)
        match = _EXTENDED.fullmatch(text)
        if match is not None:
            return self._decode_extended(match, raw)
        return Reading.unreadable(raw)

    def _for_us(self, address: str | None) -> bool:
        return self.address is None or address == self.address

    def _decode_line(self, match: re.Match[str], raw: bytes) -> Reading | None:
        if not self._for_us(match["address"]):
            return None
        status: str = match["status"]
        mode: str | None = match["mode"]
        net = None if mode is None or mode[0] == "T" else mode[0] == "N"
        unit, is_mass = _normalize_unit(match["unit"])
        if unit is None and self.default_unit is not None:
            unit, is_mass = self.default_unit, True
        value_text: str = match["value"]

        if status == "ER":
            return Reading(None, unit, None, kind="error", raw=raw, error="indicator")
        if status in ("OL", "UL"):
            if _PLACEHOLDER.fullmatch(value_text) is None:
                return Reading.unreadable(raw)
            under = status == "UL" or value_text.strip(" ").startswith("-")
            return Reading(
                weight=None,
                unit=unit,
                stable=None,
                overload=not under,
                underload=under,
                net=net,
                kind="status",
                raw=raw,
            )

        value = parse_number(value_text)
        if value is None:
            return Reading.unreadable(raw)
        stable = {"ST": True, "QT": True, "WT": True, "US": False}.get(status)  # HD: held
        if mode is not None and mode[0] == "T":
            return Reading(None, unit, stable, kind="status", raw=raw, tare=value)
        if status == "QT" or (unit is not None and not is_mass):
            # A piece count or a percentage: worth showing, never a weight.
            return Reading(None, unit or "pcs", stable, net=net, kind="status", raw=raw)
        if unit is None:
            # Every documented format names its unit; a frame without one is more
            # likely cut short than complete (the ``unit`` option covers indicators
            # that really send none).
            return Reading.unreadable(raw)
        return Reading(weight=value, unit=unit, stable=stable, net=net, kind="weight", raw=raw)

    def _decode_extended(self, match: re.Match[str], raw: bytes) -> Reading | None:
        if not self._for_us(match["address"]):
            return None
        status: str = match["status"]
        unit, is_mass = _normalize_unit(match["unit"])
        if status == "ER":
            return Reading(None, unit, None, kind="error", raw=raw, error="indicator")
        tare = parse_number(match["tare"])
        if tare is None or parse_number(match["p"]) is None or parse_number(match["m"]) is None:
            return Reading.unreadable(raw)
        net = not tare.is_zero()
        if status in ("OL", "UL"):
            return Reading(
                weight=None,
                unit=unit,
                stable=None,
                overload=status == "OL",
                underload=status == "UL",
                net=net,
                kind="status",
                raw=raw,
                tare=tare,
            )
        value = parse_number(match["value"])
        if value is None:
            return Reading.unreadable(raw)
        stable = status == "ST"
        if not is_mass:
            return Reading(None, unit, stable, net=net, kind="status", raw=raw, tare=tare)
        return Reading(value, unit, stable, net=net, kind="weight", raw=raw, tare=tare)


EMULATOR_FORMATS = ("indicator", "ad", "dini", "dini-ext")


def _address_option(options: Mapping[str, str]) -> str | None:
    if "address" not in options:
        return None
    address = options["address"].strip()
    if len(address) == 1 and address.isdigit():
        address = "0" + address
    if len(address) != 2 or not address.isdigit():
        raise ProtocolOptionError(
            f"option 'address' must be a two-digit number such as 01, not {options['address']!r}"
        )
    return address


def _unit_option(options: Mapping[str, str]) -> str | None:
    if "unit" not in options:
        return None
    unit = options["unit"].strip().lower()
    if unit not in MASS_UNITS:
        raise ProtocolOptionError(
            f"option 'unit' must be one of {', '.join(MASS_UNITS)}, not {options['unit']!r}"
        )
    return unit


def _format_option(options: Mapping[str, str]) -> str:
    value = options.get("format", "indicator").strip().lower()
    if value not in EMULATOR_FORMATS:
        raise ProtocolOptionError(
            f"option 'format' must be one of {', '.join(EMULATOR_FORMATS)}, not {value!r}"
        )
    return value


class CommaEmulator(IndicatorEmulator):
    """A streaming indicator that speaks one of the comma formats.

    ``format=indicator`` (default): ``ST,GS,+0012.34kg``; ``format=ad``: the A&D
    balance line ``ST,+00012.34 kg``; ``format=dini``: the Dini Argeo standard
    string ``ST,GS,   12.34,kg``; ``format=dini-ext``: the Dini Argeo extended
    string. ``address=NN`` puts an RS-485 address in front (Dini formats).
    """

    protocol: ClassVar[str] = "comma"
    continuous: ClassVar[bool] = True
    options_help: ClassVar[Mapping[str, str]] = CommaProtocol.options_help

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        unknown = sorted(set(self.options) - set(self.options_help))
        if unknown:
            raise ProtocolOptionError(
                f"protocol 'comma' has no option {unknown[0]!r} "
                f"(options: {', '.join(sorted(self.options_help))})"
            )
        self.format = _format_option(self.options)
        self.address = _address_option(self.options) or ""
        _unit_option(self.options)  # checked alike; the state's unit is what is sent

    def frame(self, state: IndicatorState) -> bytes:
        if self.format == "ad":
            text = self._ad(state)
        elif self.format == "dini":
            text = self._dini(state)
        elif self.format == "dini-ext":
            text = self._dini_extended(state)
        else:
            text = self._indicator(state)
        return text.encode("ascii") + b"\r\n"

    @staticmethod
    def _status(state: IndicatorState, under: str = "OL") -> str:
        if state.overload:
            return "OL"
        if state.underload:
            return under
        return "US" if state.motion else "ST"

    @staticmethod
    def _digits(value: Decimal, decimals: int) -> str:
        return f"{abs(value):.{decimals}f}"

    def _indicator(self, state: IndicatorState) -> str:
        # AD-4406 13.2: sign, then 7 characters with the decimal point; out of range
        # replaces the digits by spaces but keeps the decimal point.
        mode = "NT" if state.net else "GS"
        value = state.displayed
        digits = self._digits(value, state.decimals).rjust(7, "0")
        sign = "-" if value < 0 else "+"
        if state.overload or state.underload:
            sign = "-" if state.underload and not state.overload else "+"
            digits = "".join("." if c == "." else " " for c in digits)
        unit = state.unit.rjust(2)
        return f"{self.address}{self._status(state)},{mode},{sign}{digits}{unit}"

    def _ad(self, state: IndicatorState) -> str:
        # FX-i/GX: header, 9 characters of data, 3 of unit; OL,+9999999E+19 out of range.
        status = self._status(state)
        if status == "OL":
            sign = "-" if state.underload and not state.overload else "+"
            return f"{self.address}OL,{sign}9999999E+19"
        value = state.displayed
        sign = "-" if value < 0 else "+"
        digits = self._digits(value, state.decimals).rjust(8, "0")
        return f"{self.address}{status},{sign}{digits}{state.unit.rjust(3)}"

    def _dini(self, state: IndicatorState) -> str:
        # 3590 manual 5.4 STANDARD: [CC]HH,KK,PPPPPPPP,UM with the sign only if negative.
        mode = "NT" if state.net else "GS"
        status = self._status(state, "UL")
        value = state.displayed
        # An out-of-range reading has no sign of its own: the header says which end.
        negative = value < 0 and status not in ("OL", "UL")
        number = ("-" if negative else "") + self._digits(value, state.decimals)
        return f"{self.address}{status},{mode},{number.rjust(8)},{state.unit}"

    def _dini_extended(self, state: IndicatorState) -> str:
        # 3590 manual 5.6 REXT: [CC]B,hh,net(10),YY tare(10),0(10),0(10),uu.
        status = self._status(state, "UL")
        value = state.displayed
        negative = value < 0 and status not in ("OL", "UL")
        number = ("-" if negative else "") + self._digits(value, state.decimals)
        tare = self._digits(state.tare, state.decimals)
        preset = "PT" if state.net else "  "
        return (
            f"{self.address}1,{status},{number.rjust(10)},"
            f"{preset}{tare.rjust(10)},{'0'.rjust(10)},{'0'.rjust(10)},{state.unit}"
        )


__all__ = ["EMULATOR_FORMATS", "CommaEmulator", "CommaProtocol", "parse_number"]

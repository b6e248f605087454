"""Yaohua XK3190 (A9, A9+, A12(E), A23P, A26, D2+, DS1 ...) and Keli continuous output.

These indicators stream the displayed weight in one of several formats, chosen in
their communication menu. Layouts follow the XK3190 user manuals:

(a) STX format, "continuous communication format 0" / ``tF=0`` (XK3190-A9+ manual
    section "serial communication", XK3190-A26 and XK3190-A23P manuals)::

        byte 1      02h (XON)
        byte 2      sign, '+' or '-'
        byte 3-8    displayed weight, six digits, most significant first
        byte 9      number of decimals, '0'..'4' (decimal point from the right)
        byte 10-11  XOR check of bytes 2..9, high then low nibble
        byte 12     03h (XOFF)

    A nibble of 0-9 is sent as 30h + value ('0'..'9'), a nibble of A-F as
    37h + value ('A'..'F').

(b) '=' scoreboard format (XK3190-A26 formats 1 and 2, XK3190-A23P format 2,
    XK3190-A22 appendix I): '=' and eight characters, no terminator. The eight
    characters are a sign position ('0' positive, '-' negative) and seven characters
    of the displayed value including its decimal point. Most models send them
    reversed, lowest digit first, sign last: 3.000 is ``=000.3000`` and -1.00 is
    ``=00.1000-`` (A26 format 1, A23P, A22); A26 format 2 sends them forward:
    ``=0003.000``, ``=-0001.00``.

(c) ASCII lines ending in CR LF:

    * ``ww`` gross / ``wn`` net / ``wt`` tare, value with its decimal point, unit:
      ``ww0015.000kg``, ``ww-0015.000kg`` (LUW2001 indicator manual, "continuous
      output A format"; XK3190-A12 indicators send ``ww000.000lb`` / ``wn-0000.1kg``);
    * XK3190-A12(E) ``WG``/``WN`` lines: 'W', 'G' or 'N', seven characters of
      value (a leading '-' when negative, a trailing space when there is no decimal
      point), the unit ``kg``, and an XOR check of bytes 1-11 as two hex characters:
      ``WG004.139kg3D``. Overload is nine spaces, ``OL`` and its check (``OL23``),
      under zero nine spaces, ``LO`` and its check.

None of these formats carries a motion flag: every reading has ``stable=None`` and
the scale service decides stability in software (drivers/scale/stability.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from enum import IntEnum, auto
from functools import reduce
from operator import xor
from typing import ClassVar

from drivers.scale.protocol import (
    IndicatorEmulator,
    ProtocolOptionError,
    ScaleProtocol,
    SerialDefaults,
)
from drivers.scale.reading import IndicatorState, Reading

STX = 0x02
ETX = 0x03
CR = 0x0D
LF = 0x0A
EQUALS = 0x3D

STX_FRAME_LENGTH = 12  # STX, sign, 6 digits, decimals, 2 check characters, ETX
SCOREBOARD_FRAME_LENGTH = 9  # '=', 8 characters
_MAX_LINE = 40

FORMATS = ("stx", "scoreboard", "ascii", "auto")
ORDERS = ("reversed", "forward")

_HEX_UPPER = b"0123456789ABCDEF"
_STX_OR_ETX = re.compile(rb"[\x02\x03]")
# What cuts a scoreboard frame short: the start of another frame, or a line end.
_SCOREBOARD_BREAK = re.compile(rb"[\x02=\r\n]")
# A step takes (data, position, readings out) and returns where it stopped.
_Step = Callable[[bytes, int, list[Reading]], int]
_STX_DIGITS = re.compile(rb" *[0-9]+")
_DECIMAL_VALUE = re.compile(r" *([0-9]+(?:\.[0-9]+)?)")
# ww000.000kg / wn-0015.000kg / wt000.000lb (no check)
_ASCII_LOWER = re.compile(r"w([wnt])([+-]?) *([0-9]+(?:\.[0-9]+)?) *(kg|lb|g|t)")
# WG004.139kg3D (XK3190-A12(E)): seven value characters, unit, XOR check
_ASCII_A12 = re.compile(r"W([GN])(.{7})(kg|lb)([0-9A-F]{2})")
_ASCII_A12_RANGE = re.compile(r"( *)(OL|LO)([0-9A-F]{2})")
_A12_VALUE = re.compile(r"(-?)([0-9]+(?:\.[0-9]+)?) ?")


class _State(IntEnum):
    """Which frame the parser is in; the first byte of a frame says which format.

    Int-valued only so that looking up a state's step hashes in C.
    """

    #: Between frames.
    IDLE = auto()
    #: After 02h: a frame of the STX format, up to its ETX.
    STX_FRAME = auto()
    #: After '=': eight characters of the scoreboard format.
    SCOREBOARD = auto()
    #: Anything else: an ASCII line, up to CR or LF.
    LINE = auto()


def xor_check(data: bytes) -> bytes:
    """The XK3190 check characters: XOR of ``data``, high nibble first, '0'-'9'/'A'-'F'."""
    value = reduce(xor, data, 0)
    return bytes((_HEX_UPPER[value >> 4], _HEX_UPPER[value & 0x0F]))


def _choice(options: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = options.get(name, default).strip().lower()
    if value not in allowed:
        raise ProtocolOptionError(
            f"option {name!r} must be one of {', '.join(allowed)}, not {value!r}"
        )
    return value


def _checksum_error(raw: bytes) -> Reading:
    return Reading(None, None, None, kind="error", error="checksum", raw=raw)


def _signed(negative: bool, value: Decimal) -> Decimal:
    # never a negative zero
    return -value if negative and value != 0 else value


class Xk3190Protocol(ScaleProtocol):
    """Parser for the XK3190 / Keli continuous formats (STX, '=' scoreboard, ASCII)."""

    name = "xk3190"
    # XK3190-A9+ manual: ten bits per character, one start, eight data, one stop.
    serial_defaults = SerialDefaults(baudrate=9600, bytesize=8, parity="N", stopbits=1)
    polled = False
    options_help: ClassVar[Mapping[str, str]] = {
        "format": "stx | scoreboard | ascii | auto (default): the continuous format sent",
        "order": "reversed (default) | forward: digit order of the '=' scoreboard format",
        "unit": "unit of the STX and '=' formats, which send none (default kg)",
    }

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        fmt = _choice(self.options, "format", FORMATS, "auto")
        self._order = _choice(self.options, "order", ORDERS, "reversed")
        unit = self.options.get("unit", "kg").strip()
        if not re.fullmatch(r"[A-Za-z]{1,5}", unit):
            raise ProtocolOptionError(f"option 'unit' must be a unit such as kg, not {unit!r}")
        self._unit = unit
        self._stx = fmt in ("stx", "auto")
        self._scoreboard = fmt in ("scoreboard", "auto")
        self._ascii = fmt in ("ascii", "auto")
        self._state = _State.IDLE
        self._buffer = bytearray()
        # What ends an ASCII line: CR, LF, or the first byte of another enabled format.
        self._line_end = re.compile(
            b"[\r\n" + (b"\x02" if self._stx else b"") + (b"=" if self._scoreboard else b"") + b"]"
        )
        self._steps: dict[_State, _Step] = {
            _State.IDLE: self._idle,
            _State.STX_FRAME: self._in_stx_frame,
            _State.SCOREBOARD: self._in_scoreboard,
            _State.LINE: self._in_line,
        }

    def feed(self, data: bytes) -> list[Reading]:
        readings: list[Reading] = []
        data = bytes(data)  # a no-op for bytes; a memoryview or bytearray gets copied
        steps = self._steps
        position, end = 0, len(data)
        while position < end:
            position = steps[self._state](data, position, readings)
        return readings

    def unfinished(self) -> bytes:
        return b"" if self._state is _State.IDLE else bytes(self._buffer)

    def reset(self) -> None:
        self._close()

    # -- framing: one step per state; each takes bytes from ``position`` and returns
    # -- where it stopped -------------------------------------------------------------

    def _close(self) -> bytes:
        frame = bytes(self._buffer)
        self._buffer.clear()
        self._state = _State.IDLE
        return frame

    def _idle(self, data: bytes, position: int, out: list[Reading]) -> int:
        byte = data[position]
        if byte == STX and self._stx:
            self._state = _State.STX_FRAME
        elif byte == EQUALS and self._scoreboard:
            self._state = _State.SCOREBOARD
        elif byte in (CR, LF):
            return position + 1
        else:
            self._state = _State.LINE
        self._buffer.append(byte)
        return position + 1

    def _in_stx_frame(self, data: bytes, position: int, out: list[Reading]) -> int:
        buffer = self._buffer
        limit = position + STX_FRAME_LENGTH - len(buffer)
        found = _STX_OR_ETX.search(data, position, limit)
        if found is None:
            if limit > len(data):
                buffer += data[position:]
                return len(data)
            buffer += data[position:limit]
            out.append(Reading.unreadable(self._close()))  # no ETX where it belongs
            return limit
        index = found.start()
        if data[index] == STX:  # the frame was cut off; a new one starts
            buffer += data[position:index]
            out.append(Reading.unreadable(self._close()))
            return index
        buffer += data[position : index + 1]
        out.append(self._decoded(self._decode_stx, self._close()))
        return index + 1

    def _in_scoreboard(self, data: bytes, position: int, out: list[Reading]) -> int:
        buffer = self._buffer
        limit = position + SCOREBOARD_FRAME_LENGTH - len(buffer)
        found = _SCOREBOARD_BREAK.search(data, position, limit)
        if found is not None:  # ended before its eight characters
            buffer += data[position : found.start()]
            out.append(Reading.unreadable(self._close()))
            return found.start()
        if limit > len(data):
            buffer += data[position:]
            return len(data)
        buffer += data[position:limit]
        out.append(self._decoded(self._decode_scoreboard, self._close()))
        return limit

    def _in_line(self, data: bytes, position: int, out: list[Reading]) -> int:
        buffer = self._buffer
        limit = position + _MAX_LINE - len(buffer)
        found = self._line_end.search(data, position, limit)
        if found is None:
            if limit > len(data):
                buffer += data[position:]
                return len(data)
            buffer += data[position:limit]
            self._emit_line(self._close(), out)
            return limit
        index = found.start()
        buffer += data[position:index]
        self._emit_line(self._close(), out)
        # CR or LF ends the line; STX or '=' begins the next frame.
        return index + 1 if data[index] in (CR, LF) else index

    @staticmethod
    def _decoded(decode: Callable[[bytes], Reading], frame: bytes) -> Reading:
        try:
            return decode(frame)
        except Exception:  # a parser must never raise on line data
            return Reading.unreadable(frame)

    def _emit_line(self, line: bytes, out: list[Reading]) -> None:
        if not line.strip(b" \x00"):
            return  # blank
        if self._ascii:
            out.append(self._decoded(self._decode_line, line))
        else:
            out.append(Reading.unreadable(line))

    # -- decoding -------------------------------------------------------------------

    def _decode_stx(self, frame: bytes) -> Reading:
        if len(frame) != STX_FRAME_LENGTH or frame[0] != STX or frame[-1] != ETX:
            return Reading.unreadable(frame)
        check = frame[9:11]
        if any(c not in _HEX_UPPER for c in check):
            return Reading.unreadable(frame)
        if xor_check(frame[1:9]) != check:
            return _checksum_error(frame)
        sign, digits, decimals = frame[1], frame[2:8], frame[8]
        if sign not in b"+-" or not _STX_DIGITS.fullmatch(digits) or decimals not in b"01234":
            return Reading.unreadable(frame)
        numerals = tuple(d - 0x30 for d in digits.strip(b" "))
        weight = Decimal((0, numerals, -(decimals - 0x30)))
        return Reading(_signed(sign == 0x2D, weight), self._unit, None, raw=frame)

    def _decode_scoreboard(self, frame: bytes) -> Reading:
        text = frame[1:].decode("latin-1")
        if self._order == "reversed":
            text = text[::-1]
        sign, value = text[0], text[1:]
        match = _DECIMAL_VALUE.fullmatch(value)
        if sign not in "0+- " or match is None:
            return Reading.unreadable(frame)
        weight = _signed(sign == "-", Decimal(match.group(1)))
        return Reading(weight, self._unit, None, raw=frame)

    def _decode_line(self, line: bytes) -> Reading:
        text = line.decode("latin-1")
        lower = _ASCII_LOWER.fullmatch(text)
        if lower is not None:
            kind, sign, value, unit = lower.groups()
            weight = _signed(sign == "-", Decimal(value))
            if kind == "t":  # the tare, not the live weight
                return Reading(None, unit, None, kind="status", raw=line, tare=weight)
            return Reading(weight, unit, None, net=kind == "n", raw=line)
        a12 = _ASCII_A12.fullmatch(text)
        if a12 is not None:
            if xor_check(line[:11]) != a12.group(4).encode("ascii"):
                return _checksum_error(line)
            field = _A12_VALUE.fullmatch(a12.group(2))
            if field is None:
                return Reading.unreadable(line)
            try:
                weight = _signed(field.group(1) == "-", Decimal(field.group(2)))
            except InvalidOperation:
                return Reading.unreadable(line)
            return Reading(weight, a12.group(3), None, net=a12.group(1) == "N", raw=line)
        out_of_range = _ASCII_A12_RANGE.fullmatch(text)
        if out_of_range is not None:
            if xor_check(line[:-2]) != out_of_range.group(3).encode("ascii"):
                return _checksum_error(line)
            overload = out_of_range.group(2) == "OL"
            return Reading(
                None,
                None,
                None,
                overload=overload,
                underload=not overload,
                kind="status",
                raw=line,
            )
        return Reading.unreadable(line)


class Xk3190Emulator(IndicatorEmulator):
    """Sends XK3190 continuous frames for a simulated indicator."""

    protocol = "xk3190"
    continuous = True
    has_motion_flag = False
    options_help: ClassVar[Mapping[str, str]] = {
        "format": "stx (default) | scoreboard | ascii (ww/wn lines) | a12 (WG/WN lines with check)",
        "order": "reversed (default) | forward: digit order of the '=' scoreboard format",
        "unit": "ignored (accepted so the parser's options can be passed through)",
    }

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        fmt = _choice(self.options, "format", (*FORMATS, "a12"), "stx")
        self._format = "stx" if fmt == "auto" else fmt
        self._order = _choice(self.options, "order", ORDERS, "reversed")

    def frame(self, state: IndicatorState) -> bytes:
        decimals = state.decimals
        if not 0 <= decimals <= 4:
            raise ValueError(f"XK3190 indicators show 0 to 4 decimals, not {decimals}")
        displayed = state.displayed
        negative = displayed < 0
        if self._format == "stx":
            # The STX format has no overload code: the displayed value is sent.
            counts = min(int(abs(displayed).scaleb(decimals)), 999_999)
            body = f"{'-' if negative else '+'}{counts:06d}{decimals}".encode("ascii")
            return bytes((STX,)) + body + xor_check(body) + bytes((ETX,))
        if self._format == "scoreboard":
            # Seven characters of value after the sign position (A26 format 1 and 2).
            value = f"{'-' if negative else '0'}{abs(displayed):07.{decimals}f}"
            if self._order == "reversed":
                value = value[::-1]
            return b"=" + value.encode("ascii")
        unit = state.unit.lower()
        if state.overload or state.underload:
            # The XK3190-A12(E) out-of-range lines; the ww/wn format documents none.
            body = b" " * 9 + (b"OL" if state.overload else b"LO")
            return body + xor_check(body) + b"\r\n"
        if self._format == "ascii":
            if unit not in ("kg", "lb", "g", "t"):
                raise ValueError(f"the XK3190 ASCII format has no unit {state.unit!r}")
            kind = "n" if state.net else "w"
            line = f"w{kind}{'-' if negative else ''}{abs(displayed):08.{decimals}f}{unit}"
            return line.encode("ascii") + b"\r\n"
        # a12
        if unit not in ("kg", "lb"):
            raise ValueError(f"the XK3190-A12 format has no unit {state.unit!r}")
        width = 7 - (1 if negative else 0) - (1 if decimals == 0 else 0)
        field = f"{'-' if negative else ''}{abs(displayed):0{width}.{decimals}f}"
        field += " " if decimals == 0 else ""
        body = f"W{'N' if state.net else 'G'}{field[:7]}{unit}".encode("ascii")
        return body + xor_check(body) + b"\r\n"


__all__ = [
    "FORMATS",
    "ORDERS",
    "SCOREBOARD_FRAME_LENGTH",
    "STX_FRAME_LENGTH",
    "Xk3190Emulator",
    "Xk3190Protocol",
    "xor_check",
]

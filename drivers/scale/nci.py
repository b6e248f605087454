"""NCI / Avery Weigh-Tronix standard serial communications protocol.

Follows the NCI standard protocol, Weigh-Tronix control document SCP-01
(8408-14788-01, "NCI General Serial Communications Protocol"), as reproduced in
the NCI 6702 and 7800 user manuals, the Avery Weigh-Tronix 7821 and ZM400
manuals and the Ohaus Aviator 7000 service manual:

* Commands are one letter closed by CR: ``W`` weight, ``S`` status, ``Z`` zero
  (mandatory); ``H`` high-resolution (10x) weight, ``T`` tare (optional).
* Weight reply: ``<LF>xxxx.xxuu<CR><LF>hh...<CR><ETX>``. The weight field is the
  display as shown, minus sign and decimal point included, followed by the unit in
  its ANSI abbreviation (``lb``, ``kg``, ``oz``, ``g``). Over capacity fills the
  weight with carets (``^^^^^^``), under capacity with underscores, a zeroing
  error with dashes.
* Status reply (``S``, ``Z``, ``T``): ``<LF>hh...<CR><ETX>``.
* Any other command: ``<LF>?<CR><ETX>``.
* There are at least two status bytes. Bit 0 is the least significant bit::

      bit  byte 1              byte 2                 byte 3 (optional)
      0    1 = in motion       1 = under capacity     bits 0-1: range
      1    1 = at zero         1 = over capacity        (00 low, 11 high)
      2    1 = RAM error       1 = ROM error          1 = net, 0 = gross
      3    1 = EEPROM error    1 = faulty calibration 1 = initial zero error
      4    always 1            always 1               always 1
      5    always 1            always 1               always 1
      6    always 0            1 = another byte follows (0 in the last byte)
      7    parity              parity                 parity

The protocol runs with seven data bits, so bit 7 of every byte is the parity bit;
we mask it, so a port opened with eight data bits still reads the status.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from drivers.scale.framing import LineFramer, OverlongFrame
from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol, SerialDefaults, decode_frames
from drivers.scale.reading import GRAMS_PER_UNIT, IndicatorState, Reading

LF = 0x0A
CR = 0x0D
ETX = 0x03
# The longest reply (a ten-character display, unit, four status bytes) is about 25
# bytes; a buffer that grows past this without an ETX holds junk.
_MAX_FRAME = 64

_ALWAYS_ONE = 0x30  # bits 4 and 5 are set in every status byte
_BYTE_FOLLOWS = 0x40  # bit 6
_PARITY = 0x80  # bit 7

# One <LF>...<CR> line of a reply.
_LINES = re.compile(rb"(?:\n[^\n\r]*\r)+")
_LINE = re.compile(rb"\n([^\n\r]*)\r")
# The weight field: the display (sign, digits, decimal point) and the unit.
_WEIGHT = re.compile(r" *(-?) *([0-9]+(?:\.[0-9]+)?) *([A-Za-z]{1,2}) *")
_OVER_BARS = re.compile(r" *\^+ *(?:[A-Za-z]{1,2})? *")
_UNDER_BARS = re.compile(r" *_+ *(?:[A-Za-z]{1,2})? *")
_MIDDLE_BARS = re.compile(r" *-(?: *-)+ *(?:[A-Za-z]{1,2})? *")
_UNIT_ONLY = re.compile(r" *([A-Za-z]{1,2}) *")


@dataclass(frozen=True, slots=True)
class NciStatus:
    """The flags of the status bytes that a reading needs."""

    motion: bool
    at_zero: bool
    under_capacity: bool
    over_capacity: bool
    net: bool | None  # None when byte 3 is absent
    fault: str | None  # hardware fault or initial zero error, most serious first


@functools.lru_cache(maxsize=256)
def decode_status(data: bytes) -> NciStatus | None:
    """Decode status bytes; ``None`` when they break the SCP-01 layout.

    An indicator sends a handful of different status words, one with every reply:
    each is decoded once (the result is frozen, so it can be shared).
    """
    status = [byte & ~_PARITY for byte in data]
    if len(status) < 2:
        return None
    for index, byte in enumerate(status):
        if byte & _ALWAYS_ONE != _ALWAYS_ONE:
            return None
        follows = bool(byte & _BYTE_FOLLOWS)
        last = index == len(status) - 1
        if index == 0:
            if follows:  # always 0 in byte 1: byte 2 always follows
                return None
        elif follows == last:
            return None
    first, second = status[0], status[1]
    third = status[2] if len(status) > 2 else None
    fault = None
    for flag, code in (
        (first & 0x04, "ram"),
        (second & 0x04, "rom"),
        (first & 0x08, "eeprom"),
        (second & 0x08, "calibration"),
        (third is not None and third & 0x08, "initial_zero"),
    ):
        if flag:
            fault = code
            break
    return NciStatus(
        motion=bool(first & 0x01),
        at_zero=bool(first & 0x02),
        under_capacity=bool(second & 0x01),
        over_capacity=bool(second & 0x02),
        net=None if third is None else bool(third & 0x04),
        fault=fault,
    )


class NciProtocol(ScaleProtocol):
    """Parser for NCI (SCP-01) replies (sans-I/O: bytes in, readings out)."""

    name: ClassVar[str] = "nci"
    # Seven data bits and one stop bit are fixed by the standard; baud rate and parity
    # are configurable, 9600 baud even parity being the usual factory setting.
    serial_defaults: ClassVar[SerialDefaults] = SerialDefaults(
        baudrate=9600, bytesize=7, parity="E", stopbits=1
    )
    polled: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        # ETX ends every reply; the frame keeps it, so a reply is checked to its end.
        self._framer = LineFramer(
            (bytes((ETX,)),), max_length=_MAX_FRAME - 1, keep_terminator=True, skip_empty=False
        )

    def weight_request(self) -> bytes:
        return b"W\r"

    def zero_request(self) -> bytes:
        return b"Z\r"

    def tare_request(self) -> bytes:
        return b"T\r"

    def feed(self, data: bytes) -> list[Reading]:
        return decode_frames(self._framer.feed(data), self._decode)

    def unfinished(self) -> bytes:
        return self._framer.buffered

    def reset(self) -> None:
        self._framer.reset()

    def _decode(self, frame: bytes) -> Reading:
        if isinstance(frame, OverlongFrame) or _LINES.fullmatch(frame, 0, len(frame) - 1) is None:
            return Reading.unreadable(frame)
        lines = _LINE.findall(frame[:-1])
        if len(lines) == 1:
            if lines[0] == b"?":
                return Reading(raw=frame, kind="error", error="unrecognised")
            status = decode_status(lines[0])
            if status is None:
                return Reading.unreadable(frame)
            return self._status_only(frame, status)
        if len(lines) != 2:
            return Reading.unreadable(frame)
        status = decode_status(lines[1])
        if status is None:
            return Reading.unreadable(frame)
        try:
            field = lines[0].decode("ascii")
        except UnicodeDecodeError:
            return Reading.unreadable(frame)
        return self._weight(frame, field, status)

    @staticmethod
    def _status_only(frame: bytes, status: NciStatus, unit: str | None = None) -> Reading:
        stable = not status.motion
        if status.fault is not None:
            return Reading(
                raw=frame, stable=stable, net=status.net, kind="error", error=status.fault
            )
        if status.over_capacity:
            return Reading(
                raw=frame,
                stable=stable,
                net=status.net,
                overload=True,
                kind="status",
                error="overload",
            )
        if status.under_capacity:
            return Reading(
                raw=frame,
                stable=stable,
                net=status.net,
                underload=True,
                kind="status",
                error="underload",
            )
        return Reading(raw=frame, unit=unit, stable=stable, net=status.net, kind="status")

    def _weight(self, frame: bytes, field: str, status: NciStatus) -> Reading:
        stable = not status.motion
        if status.fault is not None or status.over_capacity or status.under_capacity:
            return self._status_only(frame, status)
        # The commonest field first; the bar and dash fields hold no digit, so the
        # order does not change what a field means.
        match = _WEIGHT.fullmatch(field)
        if match is not None:
            unit = match.group(3).lower()
            if unit not in GRAMS_PER_UNIT:
                return Reading(raw=frame, stable=stable, net=status.net, kind="error", error="unit")
            try:
                weight = Decimal(match.group(1) + match.group(2))
            except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
                return Reading.unreadable(frame)
            return Reading(raw=frame, weight=weight, unit=unit, stable=stable, net=status.net)
        if _OVER_BARS.fullmatch(field):
            return Reading(
                raw=frame,
                stable=stable,
                net=status.net,
                overload=True,
                kind="status",
                error="overload",
            )
        if _UNDER_BARS.fullmatch(field):
            return Reading(
                raw=frame,
                stable=stable,
                net=status.net,
                underload=True,
                kind="status",
                error="underload",
            )
        if _MIDDLE_BARS.fullmatch(field):
            return Reading(raw=frame, stable=stable, net=status.net, kind="error", error="zero")
        only_unit = _UNIT_ONLY.fullmatch(field)
        if only_unit is not None and only_unit.group(1).lower() in GRAMS_PER_UNIT:
            # Answer to U: the new unit of measure and the status.
            return self._status_only(frame, status, only_unit.group(1).lower())
        # Pounds-and-ounces and message text from the display carry no single
        # decimal weight.
        return Reading.unreadable(frame)


def _format_value(value: Decimal) -> str:
    if value == 0:
        value = abs(value)  # never "-0.00"
    return format(value, "f")


# The width of the simulated display, decimal point and minus sign included.
_DISPLAY_WIDTH = 7


class NciEmulator(IndicatorEmulator):
    """A scale answering NCI commands W, H, S, Z and T, with three status bytes."""

    protocol: ClassVar[str] = "nci"
    continuous: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self._pending = bytearray()

    def receive(self, data: bytes, state: IndicatorState) -> bytes:
        self._pending += data
        replies: list[bytes] = []
        while True:
            end = self._pending.find(b"\r")
            if end < 0:
                break
            command = bytes(self._pending[:end]).strip(b"\n ")
            del self._pending[: end + 1]
            if command:
                replies.append(self._answer(command, state))
        if len(self._pending) > _MAX_FRAME:
            self._pending.clear()
            replies.append(b"\n?\r\x03")
        return b"".join(replies)

    def _answer(self, command: bytes, state: IndicatorState) -> bytes:
        if command == b"W":
            return self._weight(state, state.decimals)
        if command == b"H":
            return self._weight(state, state.decimals + 1)
        if command == b"S":
            return self._status(state)
        if command == b"Z":
            # Zeroed if the zeroing criteria are met; the status is returned either way.
            if not (state.motion or state.overload or state.underload):
                state.weight = Decimal(0).scaleb(-state.decimals)
                state.tare = Decimal(0)
            return self._status(state)
        if command == b"T":
            if not (state.motion or state.overload or state.underload or state.weight < 0):
                state.tare = state.weight
            return self._status(state)
        return b"\n?\r\x03"

    @staticmethod
    def _status_bytes(state: IndicatorState, shown: Decimal) -> bytes:
        first = _ALWAYS_ONE | (0x01 if state.motion else 0) | (0x02 if shown == 0 else 0)
        second = (
            _ALWAYS_ONE
            | _BYTE_FOLLOWS
            | (0x01 if state.underload else 0)
            | (0x02 if state.overload else 0)
        )
        third = _ALWAYS_ONE | (0x04 if state.net else 0)
        return bytes((first, second, third))

    def _status(self, state: IndicatorState) -> bytes:
        return b"\n" + self._status_bytes(state, state.displayed) + b"\r\x03"

    def _weight(self, state: IndicatorState, decimals: int) -> bytes:
        shown = (state.weight - state.tare).quantize(Decimal(1).scaleb(-decimals))
        if state.overload:
            display = "^" * _DISPLAY_WIDTH  # all upper bars
        elif state.underload:
            display = "_" * _DISPLAY_WIDTH  # all lower bars
        else:
            display = f"{_format_value(shown):>{_DISPLAY_WIDTH}}"
        line = f"\n{display}{state.unit}\r".encode("ascii")
        return line + b"\n" + self._status_bytes(state, shown) + b"\r\x03"


__all__ = ["NciEmulator", "NciProtocol", "NciStatus", "decode_status"]

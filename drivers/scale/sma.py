"""SMA SCP-0499: Scale Manufacturers Association standard scale serial protocol.

Follows "Scale Manufacturers Association Standard Scale Serial Communication
Protocol Levels #1 and #2 (SMA SCP-0499)", first edition 1999, Mod 1 2005, as
reproduced in the SMA chapters of the Sartorius / Minebea PR 5210, PR 5211 and
PR 5220 manuals and the Fairbanks FB2550 / X-series manuals (section 5.3 "Scale
command set", 5.4 "Scale response messages"):

* Host commands are ``<LF>c<CR>``: ``W`` displayed weight, ``H`` high-resolution
  (10x) weight, ``P`` displayed weight after stability, ``Z`` zero, ``T`` tare,
  ``T<xxxxxx.xxx>`` preset tare, ``M`` return the tare weight, ``C`` clear tare.
* The standard response is fixed-field (5.4.1)::

      <LF> <s> <r> <n> <m> <f> <xxxxxx.xxx> <uuu> <CR>

  ``s`` scale status: ``Z`` centre of zero, ``O`` over capacity, ``U`` under
  capacity, ``E`` zero error, ``I`` initial-zero error, ``T`` tare error, space
  for none of these; for E, I and T the weight field holds centre dashes.
  ``r`` range (``1`` for a single-range scale). ``n``: ``G`` gross, ``N`` net,
  ``T`` tare (answer to ``M``), ``g`` / ``n`` gross / net in high resolution.
  ``m``: ``M`` in motion, space when stable. ``f`` reserved for future or
  custom use. The weight field is fixed at 10 characters (right-aligned), the
  unit of measure at 3 (left-aligned, e.g. ``lb ``).
* ``<LF>?<CR>`` answers a command the scale does not recognise or does not
  support at its SMA level (5.4.2); ``<LF>!<CR>`` a command lost to a
  communication error such as parity or framing (5.4.3).
* ``<LF><r><e><c><m><CR>`` answers ``D`` (diagnostics, 5.4.4): ``R`` RAM/ROM
  error, ``E`` EEPROM error, ``C`` calibration error, a space for OK.
* ``<LF>xxx:yyyy<CR>`` answers the about/information commands (5.4.5, 5.4.6).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from drivers.scale.framing import LineFramer
from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol, SerialDefaults, decode_frames
from drivers.scale.reading import GRAMS_PER_UNIT, IndicatorState, Reading

LF = 0x0A
CR = 0x0D
# A reply is at most 19 bytes (LF, 5 status characters, 10 weight, 3 unit, CR) or an
# information line of up to 25 characters; anything longer without a CR is junk.
_MAX_FRAME = 64

_WEIGHT_FIELD = 10
_UNIT_FIELD = 3
_STANDARD_BODY = 5 + _WEIGHT_FIELD + _UNIT_FIELD

_SCALE_STATUS = frozenset("ZOUEIT ")
_GROSS_NET: Mapping[str, bool | None] = {"G": False, "g": False, "N": True, "n": True, "T": None}
# Status characters E, I and T replace the weight by centre dashes.
_STATUS_ERRORS: Mapping[str, str] = {"E": "zero", "I": "initial_zero", "T": "tare"}
# Right-aligned weight: leading spaces, optional sign, ASCII digits, optional fraction.
_WEIGHT = re.compile(r" *([+-]?) *([0-9]+(?:\.[0-9]+)?)")
_DASHES = re.compile(r" *-{2,} *")
_INFORMATION = re.compile(r"[A-Z]{3}:[\x20-\x7e]*")


class SmaProtocol(ScaleProtocol):
    """Parser for SMA SCP-0499 responses (sans-I/O: bytes in, readings out)."""

    #: Status ``E`` (zero error) answers a zero it refuses.
    judges_zero_range = True
    name: ClassVar[str] = "sma"
    # 8 data bits, no parity, 1 stop bit (Minebea PR 5215/5310 SMA chapter: "fixed
    # interface settings"); 9600 baud is the usual factory rate.
    serial_defaults: ClassVar[SerialDefaults] = SerialDefaults(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    polled: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        # CR ends every reply; the frame keeps it, and its LF start is found in it.
        self._framer = LineFramer(
            (bytes((CR,)),), max_length=_MAX_FRAME - 1, keep_terminator=True, skip_empty=False
        )

    def weight_request(self) -> bytes:
        return b"\nW\r"

    def zero_request(self) -> bytes:
        return b"\nZ\r"

    def tare_request(self) -> bytes:
        return b"\nT\r"

    def feed(self, data: bytes) -> list[Reading]:
        return decode_frames(self._frames(data), self._decode)

    def unfinished(self) -> bytes:
        return self._framer.buffered

    def reset(self) -> None:
        self._framer.reset()

    def _frames(self, data: bytes) -> list[bytes]:
        """``<LF>...<CR>`` frames; bytes before a frame's LF are junk of their own."""
        frames: list[bytes] = []
        for chunk in self._framer.feed(data):
            if chunk[-1] != CR:  # no CR within _MAX_FRAME bytes: junk
                frames.append(chunk)
                continue
            start = chunk.rfind(b"\n")
            if start > 0:
                # A frame that lost its CR, or noise: report it apart, unless it is
                # only stray line feeds.
                junk = chunk[:start]
                if junk.strip(b"\n"):
                    frames.append(junk)
                chunk = chunk[start:]
            if chunk.strip(b"\r\n"):  # an empty line is no frame
                frames.append(chunk)
        return frames

    def _decode(self, frame: bytes) -> Reading:
        if len(frame) < 3 or frame[0] != LF or frame[-1] != CR:
            return Reading.unreadable(frame)
        try:
            body = frame[1:-1].decode("ascii")
        except UnicodeDecodeError:
            return Reading.unreadable(frame)
        if body == "?":
            return Reading(raw=frame, kind="error", error="unrecognised")
        if body == "!":
            return Reading(raw=frame, kind="error", error="communication")
        if len(body) == _STANDARD_BODY:
            return self._standard(frame, body)
        if len(body) == 4:
            return self._diagnostics(frame, body)
        if _INFORMATION.fullmatch(body):
            # About / information line ("SMA:2/1.0", "CAP:kg :6000:1:0", ...).
            return Reading(raw=frame, kind="status", error="information")
        return Reading.unreadable(frame)

    def _standard(self, frame: bytes, body: str) -> Reading:
        status, scale_range, gross_net, motion, future = body[0], body[1], body[2], body[3], body[4]
        weight_field = body[5 : 5 + _WEIGHT_FIELD]
        unit_field = body[5 + _WEIGHT_FIELD :]
        if (
            status not in _SCALE_STATUS
            or scale_range not in "123456789"
            or gross_net not in _GROSS_NET
            or motion not in "M "
            or not future.isprintable()
        ):
            return Reading.unreadable(frame)
        stable = motion != "M"
        net = _GROSS_NET[gross_net]

        unit_text = unit_field.rstrip(" ")
        if _DASHES.fullmatch(weight_field):
            # Centre dashes: there is no weight to read.
            if unit_text and unit_text.lower() not in GRAMS_PER_UNIT:
                return Reading.unreadable(frame)
            return self._without_weight(frame, status, stable, net)

        match = _WEIGHT.fullmatch(weight_field)
        if match is None or " " in unit_text:
            return Reading.unreadable(frame)
        try:
            value = Decimal(match.group(1) + match.group(2))
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            return Reading.unreadable(frame)
        unit = unit_text.lower()
        if unit not in GRAMS_PER_UNIT:
            return Reading(raw=frame, kind="error", error="unit")

        if status in _STATUS_ERRORS or status in "OU":
            return self._without_weight(frame, status, stable, net)
        if gross_net == "T":
            # Answer to M: the stored tare weight.
            return Reading(raw=frame, unit=unit, stable=stable, kind="status", tare=value)
        # Status Z (centre of zero) or none: a weight.
        return Reading(raw=frame, weight=value, unit=unit, stable=stable, net=net)

    @staticmethod
    def _without_weight(frame: bytes, status: str, stable: bool, net: bool | None) -> Reading:
        if status == "O":
            return Reading(
                raw=frame, stable=stable, net=net, overload=True, kind="status", error="overload"
            )
        if status == "U":
            return Reading(
                raw=frame, stable=stable, net=net, underload=True, kind="status", error="underload"
            )
        code = _STATUS_ERRORS.get(status)
        if code is not None:
            return Reading(raw=frame, stable=stable, net=net, kind="error", error=code)
        if status == " ":
            # P/Q timed out before the scale came to rest.
            return Reading(
                raw=frame, stable=stable, net=net, kind="status", error="no_stable_weight"
            )
        return Reading.unreadable(frame)

    @staticmethod
    def _diagnostics(frame: bytes, body: str) -> Reading:
        ram_rom, eeprom, calibration, spare = body[0], body[1], body[2], body[3]
        if ram_rom not in "R " or eeprom not in "E " or calibration not in "C " or spare != " ":
            return Reading.unreadable(frame)
        for flag, code in ((ram_rom, "ram_rom"), (eeprom, "eeprom"), (calibration, "calibration")):
            if flag != " ":
                return Reading(raw=frame, kind="error", error=code)
        return Reading(raw=frame, kind="status")


def _format_value(value: Decimal) -> str:
    if value == 0:
        value = abs(value)  # never "-0.000"
    return format(value, "f")


class SmaEmulator(IndicatorEmulator):
    """A scale answering SMA commands W, H, P, Z, T, T<tare>, M and C."""

    protocol: ClassVar[str] = "sma"
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
            chunk = bytes(self._pending[:end])
            del self._pending[: end + 1]
            # The command is what follows the last LF before the CR.
            command = chunk[chunk.rfind(b"\n") + 1 :]
            if command.strip():
                replies.append(b"\n" + self._answer(command, state) + b"\r")
        if len(self._pending) > _MAX_FRAME:
            self._pending.clear()
            replies.append(b"\n?\r")
        return b"".join(replies)

    def _answer(self, command: bytes, state: IndicatorState) -> bytes:
        try:
            text = command.decode("ascii")
        except UnicodeDecodeError:
            # Bytes that are not ASCII come from a parity or framing fault (5.4.3).
            return b"!"
        if text == "W":
            return self._standard(state)
        if text == "H":
            return self._standard(state, high_resolution=True)
        if text == "P":
            if state.motion:
                # No stability within the timeout: centre dashes, blank unit.
                return self._fields(" ", "N" if state.net else "G", " ", "-" * 10, "")
            return self._standard(state)
        if text == "Z":
            return self._zero(state)
        if text == "T":
            return self._tare(state)
        if text.startswith("T") and len(text) > 1:
            return self._preset_tare(text[1:], state)
        if text == "M":
            tare = _format_value(state.tare.quantize(Decimal(1).scaleb(-state.decimals)))
            return self._fields(" ", "T", self._motion(state), tare, state.unit)
        if text == "C":
            state.tare = Decimal(0)
            return self._standard(state)
        # Not a command this scale supports at its SMA level (5.4.2).
        return b"?"

    @staticmethod
    def _motion(state: IndicatorState) -> str:
        return "M" if state.motion else " "

    @staticmethod
    def _fields(status: str, gross_net: str, motion: str, weight: str, unit: str) -> bytes:
        # <s><r><n><m><f><xxxxxx.xxx><uuu>: range 1, future field a space.
        if len(weight) > _WEIGHT_FIELD:
            # The value does not fit the field: report over capacity.
            status, weight = "O", "-" * _WEIGHT_FIELD
        line = f"{status}1{gross_net}{motion} {weight:>{_WEIGHT_FIELD}}{unit:<{_UNIT_FIELD}}"
        return line.encode("ascii")

    def _standard(self, state: IndicatorState, *, high_resolution: bool = False) -> bytes:
        decimals = state.decimals + (1 if high_resolution else 0)
        value = (state.weight - state.tare).quantize(Decimal(1).scaleb(-decimals))
        gross_net = "N" if state.net else "G"
        if high_resolution:
            gross_net = gross_net.lower()
        if state.overload:
            status = "O"
        elif state.underload:
            status = "U"
        elif value == 0:
            status = "Z"
        else:
            status = " "
        return self._fields(
            status, gross_net, self._motion(state), _format_value(value), state.unit
        )

    def _error(self, status: str, state: IndicatorState) -> bytes:
        # E / T: centre dashes in place of the weight (5.4.1 note).
        return self._fields(status, "N" if state.net else "G", self._motion(state), "-" * 10, "")

    def _zero(self, state: IndicatorState) -> bytes:
        if state.motion or state.overload or state.underload:
            return self._error("E", state)
        state.weight = Decimal(0).scaleb(-state.decimals)
        state.tare = Decimal(0)
        return self._standard(state)

    def _tare(self, state: IndicatorState) -> bytes:
        if state.motion or state.overload or state.underload or state.weight < 0:
            return self._error("T", state)
        state.tare = state.weight
        return self._standard(state)

    def _preset_tare(self, field: str, state: IndicatorState) -> bytes:
        match = _WEIGHT.fullmatch(field)
        if match is None or match.group(1) == "-":
            return b"?"
        state.tare = Decimal(match.group(1) + match.group(2))
        return self._standard(state)


__all__ = ["SmaEmulator", "SmaProtocol"]

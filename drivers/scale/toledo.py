"""Mettler Toledo "standard continuous output" (the Toledo 8142 format).

Follows the METTLER TOLEDO Wildcat technical manual (appendix 2 "Continuous mode
output", tables 6-8 to 6-11), the IND445 user manual (section 5.2 "TOLEDO
Continuous mode") and appendix D of the Rockwell Automation 57C428 Toledo scale
interface module guide; the IND560 / IND780 / Panther terminals send the same "standard
continuous output". Compatible indicators document it too: Cardinal 225 (formats
with and without tare and checksum), Rice Lake 920i ("Toledo 8142"), Fairbanks
("Toledo data format"). One frame, sent at every display update::

    byte  1      STX (02h)
    byte  2-4    status words A, B, C
    byte  5-10   displayed weight, six digits, no sign, no decimal point
    byte 11-16   tare weight, six digits       (absent in the "short" variant)
    byte 17      CR (0Dh)
    byte 18      checksum                      (optional)

The checksum is the two's complement of the seven low bits of the binary sum of
every character before it, STX and CR included, so the seven-bit sum of a whole
frame is zero. Non-significant leading zeros may be sent as spaces.

Status word A (bit 7 is the parity bit on a 7-bit line and is ignored)::

    bits 2..0  000 XXXX00  001 XXXXX0  010 XXXXXX  011 XXXXX.X
               100 XXXX.XX 101 XXX.XXX 110 XX.XXXX 111 X.XXXXX
    bits 4..3  01 count by 1, 10 count by 2, 11 count by 5
    bit 5      always 1;  bit 6 always 0

Codes 000 and 001 are "dummy zeros": the display's last one or two digits are
fixed zeros, so a count-by of 1, 2 or 5 becomes an increment of 10, 20, 50 (one
dummy zero) or 100, 200, 500 (two). The six weight digits are taken as sent (the
field pictured as XXXXX0 holds the zero), with no decimals.

Status word B::

    bit 0  gross 0, net 1              bit 1  positive 0, negative 1
    bit 2  out of range 1 (over capacity, or under zero when negative)
    bit 3  motion 1                    bit 4  lb 0, kg 1 (see status C)
    bit 5  always 1                    bit 6  power-up, zero not yet captured 1

Status word C::

    bits 2..0  000 lb or kg (status B bit 4)  001 g  010 t (metric tons)
               011 oz  100 troy oz  101 pennyweight  110 long tons  111 custom
    bit 3  print request 1             bit 4  expanded display (x10) 1
    bit 5  always 1                    bit 6  always 0

The Wildcat manual has codes 000 and 001 (grams), compatible indicators add 010
(t); codes 011-111 follow the IND560 / IND780 table.

Checksum detection (``checksum=auto``): the byte after the CR is a checksum unless
it is an STX followed by a status word (then the frame had none and the next one
has begun). Once a checksum has verified, every later frame must carry one, so a
damaged frame cannot pass as a frame without checksum. In auto mode a frame
without checksum is therefore reported when the next frame's first two bytes
arrive (or by ``finish()`` at the end of the input); set ``checksum=no`` (or ``yes``)
to report every frame at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import IntEnum, auto
from typing import ClassVar, NamedTuple

from drivers.scale.protocol import (
    IndicatorEmulator,
    ProtocolOptionError,
    ScaleProtocol,
    SerialDefaults,
)
from drivers.scale.reading import IndicatorState, Reading

STX = 0x02
CR = 0x0D

# Frame lengths up to and including the CR (the checksum byte comes after).
SHORT_FRAME_LENGTH = 11  # STX, A, B, C, 6 weight digits, CR
LONG_FRAME_LENGTH = 17  # STX, A, B, C, 6 weight digits, 6 tare digits, CR

# Bytes that belong to no frame are reported as one unreadable frame once they
# reach this length, or at a line end, so a wrong protocol setting is visible.
_MAX_JUNK = 64

# Bytes with the parity bit (bit 7) cleared.
_WITHOUT_PARITY = bytes(b & 0x7F for b in range(256))
_FRAME_START_OR_LINE_END = re.compile(rb"[\x02\r\n]")
_FRAME_START_OR_END = re.compile(rb"[\x02\r]")
# A whole frame up to its CR, by the tare setting: the bytes IN_FRAME would take
# (no STX and no CR before the CR) at a length that fits. Matched on masked bytes.
_WHOLE_FRAME = {
    "yes": re.compile(rb"\x02[^\x02\r]{15}\r"),
    "no": re.compile(rb"\x02[^\x02\r]{9}\r"),
    "auto": re.compile(rb"\x02(?:[^\x02\r]{15}|[^\x02\r]{9})\r"),
}


class _State(IntEnum):
    """Where the parser stands between two bytes.

    Int-valued only so that looking up a state's step hashes in C (an ``Enum``
    member hashes in Python, which costs a tenth of the parser's time).
    """

    #: Outside a frame: bytes here are junk until an STX.
    BETWEEN_FRAMES = auto()
    #: After an STX, until the CR.
    IN_FRAME = auto()
    #: After the CR: a checksum byte may follow (or the next frame's STX).
    AFTER_CR = auto()
    #: Auto mode, an STX after the CR: the checksum (02h) or the next frame's start.
    STX_AFTER_CR = auto()


# A step takes (data, data without parity bits, position, readings out) and returns
# the position where it stopped.
_Step = Callable[[bytes, bytes, int, list[Reading]], int]

# Status word C bits 0-2 -> unit; code 0 is lb or kg, chosen by status B bit 4.
_UNIT_BY_CODE: dict[int, str | None] = {
    1: "g",
    2: "t",
    3: "oz",
    4: "ozt",  # troy ounce
    5: "dwt",  # pennyweight
    6: "ton",  # long ton
    7: None,  # custom unit: the frame does not say which
}
_CODE_BY_UNIT: dict[str, int] = {"g": 1, "t": 2, "oz": 3, "ozt": 4, "dwt": 5, "ton": 6}

# Status word A bits 3-4 -> count-by factor.
_COUNT_BY = {1: 1, 2: 2, 3: 5}


class StatusA(NamedTuple):
    """What status word A says about the weight digits."""

    #: Digits after the decimal point (0 for the dummy-zero codes).
    decimals: int
    #: The display increment (division), or ``None`` when the count-by code is unused.
    increment: Decimal | None


def _decimals(status_a: int) -> int:
    """Digits after the decimal point: codes 000 and 001 have none (dummy zeros)."""
    return max((status_a & 0b111) - 2, 0)


def decode_status_a(status_a: int) -> StatusA:
    """Decimal point location and increment from status word A (parity bit ignored)."""
    code = status_a & 0b111
    decimals = _decimals(status_a)
    # Codes 000 and 001: two or one dummy zeros after the displayed digits.
    dummy_factor = {0: 100, 1: 10}.get(code, 1)
    count_by = _COUNT_BY.get((status_a >> 3) & 0b11)
    if count_by is None:
        return StatusA(decimals, None)
    return StatusA(decimals, Decimal(count_by * dummy_factor).scaleb(-decimals))


def checksum(body: bytes) -> int:
    """The checksum byte for ``body`` (STX up to and including CR)."""
    return -sum(body.translate(_WITHOUT_PARITY)) & 0x7F


# Status word A bits 0-2 -> the exponent of the weight digits, as Decimal text.
_EXPONENT = tuple(f"E-{max(code - 2, 0)}" for code in range(8))
# Tares kept made (see ToledoProtocol._tare).
_MAX_TARES = 32


def _choice(options: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = options.get(name, default).strip().lower()
    if value not in allowed:
        raise ProtocolOptionError(
            f"option {name!r} must be one of {', '.join(allowed)}, not {value!r}"
        )
    return value


class ToledoProtocol(ScaleProtocol):
    """Parser for the Toledo standard continuous output, with or without checksum/tare."""

    name = "toledo"
    # 7 data bits with parity, as in the Toledo continuous-output manuals; the parity
    # bit is masked off, so a port opened 8N1 reads the same frames.
    serial_defaults = SerialDefaults(baudrate=9600, bytesize=7, parity="E", stopbits=1)
    polled = False
    options_help: ClassVar[Mapping[str, str]] = {
        "checksum": "yes | no | auto (default): a checksum byte follows the CR",
        "tare": "yes | no | auto (default): frames carry the six tare digits",
        "power_up": "flag (default) | ignore: status B bit 6 (zero not captured) "
        "blocks the weight; 'ignore' for compatible indicators that always set it",
    }

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self._checksum_mode = _choice(self.options, "checksum", ("auto", "yes", "no"), "auto")
        self._tare_mode = _choice(self.options, "tare", ("auto", "yes", "no"), "auto")
        self._power_up = _choice(self.options, "power_up", ("flag", "ignore"), "flag")
        # A frame is cut off when it reaches this length without its CR.
        self._max_length = SHORT_FRAME_LENGTH if self._tare_mode == "no" else LONG_FRAME_LENGTH
        self._whole_frame = _WHOLE_FRAME[self._tare_mode]
        self._tares: dict[tuple[bytes, str], Decimal] = {}
        # In auto mode, once a checksum has verified, every frame must carry one.
        self._checksum_seen = False
        self._state = _State.BETWEEN_FRAMES
        # BETWEEN_FRAMES: bytes that belong to no frame; IN_FRAME: the frame from its STX.
        self._held = bytearray()
        # AFTER_CR and STX_AFTER_CR: the frame up to and including its CR.
        self._body = b""
        # STX_AFTER_CR: the byte after the CR (an STX, or a checksum of 02h).
        self._stx_after_cr = 0
        self._steps: dict[_State, _Step] = {
            _State.BETWEEN_FRAMES: self._between_frames,
            _State.IN_FRAME: self._in_frame,
            _State.AFTER_CR: self._after_cr,
            _State.STX_AFTER_CR: self._after_cr_stx,
        }

    # -- bytes in -------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Reading]:
        readings: list[Reading] = []
        if self._state is _State.IN_FRAME:
            # A frame the last chunk cut off is taken again from its STX together
            # with what follows, so that it is read whole like the frames after it.
            data = bytes(self._held + data)
            self._held.clear()
            self._state = _State.BETWEEN_FRAMES
        else:
            data = bytes(data)  # a no-op for bytes; a memoryview or bytearray gets copied
        # Bit 7 is the parity bit on a 7-bit line: the steps look at the masked bytes
        # and keep the bytes as received.
        masked = data.translate(_WITHOUT_PARITY)
        steps = self._steps
        position, end = 0, len(data)
        while position < end:
            position = steps[self._state](data, masked, position, readings)
        return readings

    def unfinished(self) -> bytes:
        """Bytes not reported yet.

        In auto mode that may be a whole frame waiting to see whether a checksum byte
        follows; :meth:`finish` decodes it.
        """
        state = self._state
        if state is _State.AFTER_CR:
            return self._body
        if state is _State.STX_AFTER_CR:
            return self._body + bytes((self._stx_after_cr,))
        return bytes(self._held)

    def finish(self) -> list[Reading]:
        """End of input: a frame still waiting for its checksum is decoded without one.

        That holds only where a frame may lack the checksum (``checksum=auto`` before
        any checksum has verified); otherwise the missing byte leaves it incomplete.
        An STX after the CR is that frame's checksum when it verifies, else the start
        of a frame that never came.
        """
        readings: list[Reading] = []
        held = self.unfinished()
        if self._state in (_State.AFTER_CR, _State.STX_AFTER_CR):
            body = self._body
            stx = self._stx_after_cr if self._state is _State.STX_AFTER_CR else None
            if stx is not None and (stx & 0x7F) == checksum(body):
                readings.append(self._decode(body + bytes((stx,)), True))
                held = b""
            elif self._checksum_mode == "auto" and not self._checksum_seen:
                readings.append(self._decode(body, False))
                held = b"" if stx is None else bytes((stx,))
        self.reset()
        if held:
            readings.append(Reading.unreadable(held, error="incomplete"))
        return readings

    def reset(self) -> None:
        self._state = _State.BETWEEN_FRAMES
        self._held.clear()
        self._body = b""

    # -- one step per state: each takes bytes from ``position`` and returns where it
    # -- stopped; ``masked`` is ``data`` without parity bits --------------------------

    def _between_frames(self, data: bytes, masked: bytes, position: int, out: list[Reading]) -> int:
        junk = self._held
        if not junk and masked[position] == STX:
            # The common case: frames back to back, whole in this chunk.
            position = self._whole_frames(data, masked, position, out)
            if position == len(data):
                return position
        # The junk is reported when it reaches _MAX_JUNK bytes, at a line end, or
        # where a frame starts.
        limit = position + _MAX_JUNK - len(junk)
        found = _FRAME_START_OR_LINE_END.search(masked, position, limit)
        if found is None:
            if limit > len(data):
                junk += data[position:]
                return len(data)
            junk += data[position:limit]
            self._flush_junk(out)
            return limit
        index = found.start()
        if masked[index] == STX:
            junk += data[position:index]
            self._flush_junk(out)
            self._open_frame(data[index])
        else:
            junk += data[position : index + 1]
            self._flush_junk(out)
        return index + 1

    def _in_frame(self, data: bytes, masked: bytes, position: int, out: list[Reading]) -> int:
        frame = self._held
        limit = position + self._max_length - len(frame)
        found = _FRAME_START_OR_END.search(masked, position, limit)
        if found is None:
            if limit > len(data):
                frame += data[position:]
                return len(data)
            # No CR where the format puts it.
            frame += data[position:limit]
            out.append(Reading.unreadable(bytes(frame)))
            frame.clear()
            self._state = _State.BETWEEN_FRAMES
            return limit
        index = found.start()
        if masked[index] == STX:
            # STX never occurs inside a frame (status words have bit 5 or 6 set, the
            # rest are digits): the frame was cut off.
            frame += data[position:index]
            out.append(Reading.unreadable(bytes(frame)))
            self._open_frame(data[index])
            return index + 1
        frame += data[position : index + 1]
        body = bytes(frame)
        frame.clear()
        length = len(body)
        fits = (length == SHORT_FRAME_LENGTH and self._tare_mode != "yes") or (
            length == LONG_FRAME_LENGTH and self._tare_mode != "no"
        )
        if not fits:
            out.append(Reading.unreadable(body))
            self._state = _State.BETWEEN_FRAMES
        elif self._checksum_mode == "no":
            out.append(self._decode(body, False))
            self._state = _State.BETWEEN_FRAMES
        else:
            self._body = body
            self._state = _State.AFTER_CR
        return index + 1

    def _after_cr(self, data: bytes, masked: bytes, position: int, out: list[Reading]) -> int:
        if self._checksum_mode == "yes" or self._checksum_seen or masked[position] != STX:
            out.append(self._decode(self._body + data[position : position + 1], True))
            self._state = _State.BETWEEN_FRAMES
        else:
            # Auto mode and an STX after the CR: either the next frame starts (no
            # checksum), or this is the checksum (02h, or a damaged one). The byte
            # after it tells: the next frame's STX, or a status word.
            self._stx_after_cr = data[position]
            self._state = _State.STX_AFTER_CR
        return position + 1

    def _after_cr_stx(self, data: bytes, masked: bytes, position: int, out: list[Reading]) -> int:
        first = self._stx_after_cr
        if masked[position] == STX:
            # the checksum, then the next frame's STX
            out.append(self._decode(self._body + bytes((first,)), True))
            self._open_frame(data[position])
            return position + 1
        # no checksum: the first STX opened the next frame, this byte is its status A
        out.append(self._decode(self._body, False))
        self._open_frame(first)
        return position

    def _whole_frames(self, data: bytes, masked: bytes, position: int, out: list[Reading]) -> int:
        """Decode the whole frames from ``position`` (an STX, nothing held) on, each
        with one match instead of a step per state: what IN_FRAME and AFTER_CR would
        make of the same bytes. Returns where the first frame that is not whole in
        ``data``, or that needs the general steps, starts."""
        match = self._whole_frame.match
        decode = self._decode
        end = len(data)
        without_checksum = self._checksum_mode == "no"
        # Auto mode looks at the byte after the CR until a checksum has verified.
        may_lack_checksum = self._checksum_mode == "auto"
        while (found := match(masked, position)) is not None:
            after_cr = found.end()
            if without_checksum:
                out.append(decode(data[position:after_cr], False))
                position = after_cr
                continue
            if after_cr == end or (
                may_lack_checksum and not self._checksum_seen and masked[after_cr] == STX
            ):
                break  # the general steps wait for, or look at, the byte after the CR
            out.append(decode(data[position : after_cr + 1], True))
            position = after_cr + 1
        return position

    def _open_frame(self, stx: int) -> None:
        self._held.clear()
        self._held.append(stx)
        self._state = _State.IN_FRAME

    def _flush_junk(self, out: list[Reading]) -> None:
        if not self._held:
            return
        junk = bytes(self._held)
        self._held.clear()
        if junk.strip(b" \r\n\x00"):
            out.append(Reading.unreadable(junk))

    # -- one frame ------------------------------------------------------------------

    def _decode(self, raw: bytes, with_checksum: bool) -> Reading:
        """One frame from its STX to its CR, and its checksum byte when it has one."""
        try:
            frame = raw.translate(_WITHOUT_PARITY)
            if with_checksum:
                # The seven-bit sum of a whole frame, checksum included, is zero.
                if sum(frame) & 0x7F:
                    return Reading(None, None, None, kind="error", error="checksum", raw=raw)
                self._checksum_seen = True
            status_a, status_b, status_c = frame[1], frame[2], frame[3]
            # Status words are printable (bit 5 or bit 6 set); anything else is noise.
            if min(status_a, status_b, status_c) < 0x20:
                return Reading.unreadable(raw)
            # A field is leading spaces, then digits: what is left after the spaces is
            # digits only, or nothing.
            weight_digits = frame[4:10].lstrip(b" ")
            long = len(frame) - with_checksum == LONG_FRAME_LENGTH
            tare_digits = frame[10:16].lstrip(b" ") if long else b""
            if (weight_digits and not weight_digits.isdigit()) or (
                tare_digits and not tare_digits.isdigit()
            ):
                return Reading.unreadable(raw)

            exponent = _EXPONENT[status_a & 0b111]
            net = bool(status_b & 0x01)
            negative = bool(status_b & 0x02)
            stable = not status_b & 0x08
            unit_code = status_c & 0b111
            unit = (
                ("kg" if status_b & 0x10 else "lb") if unit_code == 0 else _UNIT_BY_CODE[unit_code]
            )
            tare = self._tare(tare_digits, exponent) if tare_digits else None

            if status_b & 0x04:
                # Out of range: over capacity, or under zero when the sign bit is set.
                return Reading(
                    None,
                    unit,
                    stable,
                    overload=not negative,
                    underload=negative,
                    net=net,
                    kind="status",
                    raw=raw,
                    tare=tare,
                )
            if status_b & 0x40 and self._power_up == "flag":
                # The terminal has not captured zero since power-up: no valid weight.
                return Reading(
                    None,
                    unit,
                    stable,
                    net=net,
                    kind="status",
                    raw=raw,
                    tare=tare,
                    error="not ready",
                )
            if not weight_digits:
                return Reading.unreadable(raw)
            text = weight_digits.decode() + exponent
            # No negative zero.
            weight = Decimal("-" + text if negative and weight_digits.strip(b"0") else text)
            return Reading(weight, unit, stable, net=net, raw=raw, tare=tare)
        except Exception:  # a parser must never raise on line data
            return Reading.unreadable(raw)

    def _tare(self, digits: bytes, exponent: str) -> Decimal:
        """The tare of ``digits`` (not empty) at ``exponent``: an indicator sends the same
        tare frame after frame, so each is made once (of at most a few dozen, so line
        noise cannot make the table grow)."""
        key = (digits, exponent)
        tare = self._tares.get(key)
        if tare is None:
            if len(self._tares) >= _MAX_TARES:
                self._tares.clear()
            tare = self._tares[key] = Decimal(digits.decode() + exponent)
        return tare


class ToledoEmulator(IndicatorEmulator):
    """Sends Toledo standard continuous output frames for a simulated indicator."""

    protocol = "toledo"
    continuous = True
    options_help: ClassVar[Mapping[str, str]] = {
        "checksum": "yes (default) | no: append the checksum byte",
        "tare": "yes (default) | no: send the six tare digits",
    }

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        # "auto" is accepted so the parser's options can be passed through unchanged.
        self._with_checksum = (
            _choice(self.options, "checksum", ("yes", "no", "auto"), "yes") != "no"
        )
        self._with_tare = _choice(self.options, "tare", ("yes", "no", "auto"), "yes") != "no"

    def frame(self, state: IndicatorState) -> bytes:
        decimals = state.decimals
        if not 0 <= decimals <= 5:
            raise ValueError(f"the Toledo continuous format shows 0 to 5 decimals, not {decimals}")
        unit = state.unit.lower()
        if unit in ("kg", "lb"):
            unit_code = 0
        elif unit in _CODE_BY_UNIT:
            unit_code = _CODE_BY_UNIT[unit]
        else:
            raise ValueError(f"the Toledo continuous format has no code for unit {state.unit!r}")

        displayed = state.displayed
        counts = int(abs(displayed).scaleb(decimals))
        negative = displayed < 0 or state.underload
        # More than six digits cannot be shown: the terminal reports over capacity.
        out_of_range = state.overload or state.underload or counts > 999_999
        tare_counts = min(int(abs(state.tare).scaleb(decimals)), 999_999)

        # Status A: decimal point code (decimals + 2), count by 1 (bits 4..3 = 01), bit 5.
        status_a = 0x20 | (0b01 << 3) | (decimals + 2)
        status_b = (
            0x20
            | (0x01 if state.net else 0)
            | (0x02 if negative else 0)
            | (0x04 if out_of_range else 0)
            | (0x08 if state.motion else 0)
            | (0x10 if unit == "kg" else 0)
        )
        status_c = 0x20 | unit_code
        # Leading zeros are sent as spaces, as the IND560 does.
        weight_field = f"{min(counts, 999_999):6d}".encode("ascii")
        body = bytes((STX, status_a, status_b, status_c)) + weight_field
        if self._with_tare:
            body += f"{tare_counts:6d}".encode("ascii")
        body += bytes((CR,))
        if self._with_checksum:
            body += bytes((checksum(body),))
        return body


__all__ = [
    "LONG_FRAME_LENGTH",
    "SHORT_FRAME_LENGTH",
    "StatusA",
    "ToledoEmulator",
    "ToledoProtocol",
    "checksum",
    "decode_status_a",
]

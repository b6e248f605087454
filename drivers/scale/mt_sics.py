"""Mettler Toledo MT-SICS (Standard Interface Command Set), levels 0 and 1.

Follows the "Reference Manual MT-SICS Interface Commands" (Mettler Toledo, e.g.
11780711 for New Classic balances, 30324923 for XPR/XSR) and the MT-SICS chapters
of the indicator manuals that repeat it (Ohaus 7000 series, B-TEK T104, Mettler
Toledo AL/AT/JS operating instructions):

* Every command and every response is a line of ASCII closed by CR LF.
* Parameters are separated from the command name and from each other by one
  space (ASCII 32).
* A response with a weight value reads ``<ID> <Status> <WeightValue> <Unit>``,
  for instance ``S S     100.00 g``: the weight value is a field of 10 characters,
  right-aligned, with the minus sign attached to the first digit
  (``S S    -12.345 kg``). We split on spaces rather than on column positions, so
  an indicator that pads differently is still read.
* ``S``/``SI``/``SIR`` answer ``S S`` (stable), ``S D`` (dynamic: the balance is
  in motion), ``S I`` (command not executable, e.g. still taring or no
  stability before the timeout), ``S +`` (overload) and ``S -`` (underload).
  ``SIR`` repeats the ``SI`` answer until another command arrives, so the parser
  simply reads one ``S`` line after another.
* ``Z`` answers ``Z A`` (zero set), ``Z I`` (not executable), ``Z +`` / ``Z -``
  (upper / lower limit of the zero setting range exceeded).
* ``T`` answers ``T S <TareValue> <Unit>`` (tare taken), ``T I``, ``T +``, ``T -``.
* General errors have no status field: ``ES`` syntax error (command not
  recognised), ``ET`` transmission error (parity, framing), ``EL`` logical error
  (the command cannot be carried out).

``S`` and ``SI`` send the net weight when a tare is active, but the frame does not
say whether it is net or gross, so ``Reading.net`` is always ``None`` here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from drivers.scale.framing import LineFramer, OverlongFrame
from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol, SerialDefaults, decode_frames
from drivers.scale.reading import GRAMS_PER_UNIT, IndicatorState, Reading

# Commands and responses are closed by CR LF (manual, "Command formats").
_TERMINATOR = b"\r\n"
# A line longer than this is not an MT-SICS response (the longest weight response is
# about 25 characters); the framer hands it on as an unreadable frame.
_MAX_LINE = 128

# Response IDs that carry a weight value: S, SI and SIR all answer with ID "S"; the
# "send in displayed unit" variants answer with their own name.
_WEIGHT_IDS = frozenset({"S", "SI", "SIR", "SU", "SIU", "SIRU"})
_ZERO_IDS = frozenset({"Z", "ZI"})
_TARE_IDS = frozenset({"T", "TI"})

# General error messages: a two-letter response without a status field.
_GENERAL_ERRORS: Mapping[str, str] = {
    "ES": "syntax",
    "ET": "transmission",
    "EL": "logical",
}

# Weight value: optional sign attached to ASCII digits, optional decimal fraction.
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _number(token: str) -> Decimal | None:
    if _NUMBER.fullmatch(token) is None:
        return None
    try:
        return Decimal(token)
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None


def _unit(token: str) -> str | None:
    unit = token.lower()
    return unit if unit in GRAMS_PER_UNIT else None


class MtSicsProtocol(ScaleProtocol):
    """Parser for MT-SICS responses (sans-I/O: bytes in, readings out)."""

    #: ``Z +`` / ``Z -``: the zero-setting range exceeded (see the module).
    judges_zero_range = True
    name: ClassVar[str] = "mt-sics"
    # 9600 baud, 8 data bits, no parity, 1 stop bit: the factory setting of the
    # balance RS-232 interface.
    serial_defaults: ClassVar[SerialDefaults] = SerialDefaults(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    polled: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        # Responses end with CR LF; a lone CR or LF is accepted too.
        self._framer = LineFramer(max_length=_MAX_LINE)

    def weight_request(self) -> bytes:
        # SI, not S: S waits for stability and answers "S I" on a timeout, while the
        # counter wants the live weight with its motion flag ("S D").
        return b"SI" + _TERMINATOR

    def zero_request(self) -> bytes:
        return b"Z" + _TERMINATOR

    def tare_request(self) -> bytes:
        return b"T" + _TERMINATOR

    def feed(self, data: bytes) -> list[Reading]:
        return decode_frames(self._framer.feed(bytes(data)), self._decode)

    def unfinished(self) -> bytes:
        return self._framer.buffered

    def reset(self) -> None:
        self._framer.reset()

    def _decode(self, frame: bytes) -> Reading:
        if isinstance(frame, OverlongFrame):
            return Reading.unreadable(bytes(frame))
        try:
            text = frame.decode("ascii")
        except UnicodeDecodeError:
            return Reading.unreadable(frame)
        # Fields are separated by spaces; padding inside the weight field is spaces too.
        tokens = [token for token in text.split(" ") if token]
        if not tokens:
            return Reading.unreadable(frame)
        ident, fields = tokens[0], tokens[1:]
        if not fields:
            code = _GENERAL_ERRORS.get(ident)
            if code is None:
                return Reading.unreadable(frame)
            return Reading(weight=None, unit=None, stable=None, kind="error", error=code, raw=frame)
        status, values = fields[0], fields[1:]
        if ident in _WEIGHT_IDS:
            return self._weight_response(frame, status, values)
        if ident in _ZERO_IDS:
            return self._zero_response(frame, ident, status, values)
        if ident in _TARE_IDS or ident == "TA":
            return self._tare_response(frame, ident, status, values)
        if ident == "TAC" and status == "A" and not values:
            # TAC A: tare cleared.
            return Reading(weight=None, unit=None, stable=None, kind="status", raw=frame)
        return Reading.unreadable(frame)

    def _weight_response(self, frame: bytes, status: str, values: list[str]) -> Reading:
        if status in ("S", "D"):
            # <ID> S|D <WeightValue> <Unit>: S stable, D dynamic (in motion).
            if len(values) != 2:
                return Reading.unreadable(frame)
            weight, unit = _number(values[0]), _unit(values[1])
            if weight is None:
                return Reading.unreadable(frame)
            if unit is None:
                return Reading(
                    weight=None, unit=None, stable=None, kind="error", error="unit", raw=frame
                )
            return Reading(weight=weight, unit=unit, stable=status == "S", raw=frame)
        if values:
            return Reading.unreadable(frame)
        if status == "+":
            return Reading(
                weight=None,
                unit=None,
                stable=None,
                overload=True,
                kind="status",
                error="overload",
                raw=frame,
            )
        if status == "-":
            return Reading(
                weight=None,
                unit=None,
                stable=None,
                underload=True,
                kind="status",
                error="underload",
                raw=frame,
            )
        return self._command_status(frame, status)

    def _zero_response(self, frame: bytes, ident: str, status: str, values: list[str]) -> Reading:
        if values:
            return Reading.unreadable(frame)
        if status == "A" and ident == "Z":
            # Z A: zero setting performed.
            return Reading(weight=None, unit=None, stable=None, kind="status", raw=frame)
        if status in ("S", "D") and ident == "ZI":
            # ZI S / ZI D: zeroed immediately, with the weight stable or dynamic.
            return Reading(weight=None, unit=None, stable=status == "S", kind="status", raw=frame)
        if status in ("+", "-"):
            # Upper / lower limit of the zero setting range exceeded.
            return Reading(
                weight=None, unit=None, stable=None, kind="status", error="zero_range", raw=frame
            )
        return self._command_status(frame, status)

    def _tare_response(self, frame: bytes, ident: str, status: str, values: list[str]) -> Reading:
        success = "A" if ident == "TA" else ("S", "D")
        if status in success:
            # T S <TareValue> <Unit>; TI S|D ...; TA A <TareValue> <Unit>.
            if len(values) != 2:
                return Reading.unreadable(frame)
            tare, unit = _number(values[0]), _unit(values[1])
            if tare is None:
                return Reading.unreadable(frame)
            if unit is None:
                return Reading(
                    weight=None, unit=None, stable=None, kind="error", error="unit", raw=frame
                )
            stable = None if ident == "TA" else status == "S"
            return Reading(
                weight=None, unit=unit, stable=stable, kind="status", tare=tare, raw=frame
            )
        if values:
            return Reading.unreadable(frame)
        if status in ("+", "-") and ident != "TA":
            # Upper / lower limit of the taring range exceeded.
            return Reading(
                weight=None, unit=None, stable=None, kind="status", error="tare_range", raw=frame
            )
        return self._command_status(frame, status)

    @staticmethod
    def _command_status(frame: bytes, status: str) -> Reading:
        if status == "I":
            # Command understood but not executable at present (busy, or no stability
            # within the timeout).
            return Reading(
                weight=None,
                unit=None,
                stable=None,
                kind="status",
                error="not_executable",
                raw=frame,
            )
        if status == "L":
            # Command-specific logical error (e.g. parameter not allowed).
            return Reading(
                weight=None, unit=None, stable=None, kind="error", error="logical", raw=frame
            )
        return Reading.unreadable(frame)


def _format_value(value: Decimal) -> str:
    """A weight value as the balance prints it: plain digits, minus sign attached."""
    if value == 0:
        value = abs(value)  # never "-0.00"
    return format(value, "f")


class MtSicsEmulator(IndicatorEmulator):
    """A balance answering MT-SICS commands S, SI, SIR, Z, T, TA and TAC."""

    protocol: ClassVar[str] = "mt-sics"
    continuous: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        self._pending = bytearray()
        #: True after SIR, until S or SI cancels the repetition.
        self.repeating = False

    def receive(self, data: bytes, state: IndicatorState) -> bytes:
        self._pending += data
        replies: list[bytes] = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            line = bytes(self._pending[:end]).rstrip(b"\r")
            del self._pending[: end + 1]
            if line.strip(b" \r"):
                replies.append(self._answer(line, state) + _TERMINATOR)
        if len(self._pending) > _MAX_LINE:
            # An over-long command cannot be valid: answer with a syntax error.
            self._pending.clear()
            replies.append(b"ES" + _TERMINATOR)
        return b"".join(replies)

    def frame(self, state: IndicatorState) -> bytes:
        """The line a balance repeats after ``SIR`` (the ``SI`` answer)."""
        return self._immediate_weight(state) + _TERMINATOR

    def _answer(self, line: bytes, state: IndicatorState) -> bytes:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            # Bytes that are not ASCII come from a parity or framing fault.
            return b"ET"
        command, *parameters = [token for token in text.split(" ") if token]
        if command in ("S", "SI", "SIR", "Z", "T", "TAC") and parameters:
            return b"ES"
        if command == "S":
            self.repeating = False
            return self._stable_weight(state)
        if command == "SI":
            self.repeating = False
            return self._immediate_weight(state)
        if command == "SIR":
            self.repeating = True
            return self._immediate_weight(state)
        if command == "Z":
            return self._zero(state)
        if command == "T":
            return self._tare(state)
        if command == "TA" and not parameters:
            return f"TA A {self._value(state.tare, state)} {state.unit}".encode("ascii")
        if command == "TAC":
            state.tare = Decimal(0)
            return b"TAC A"
        return b"ES"

    def _value(self, value: Decimal, state: IndicatorState) -> str:
        quantum = Decimal(1).scaleb(-state.decimals)
        return _format_value(value.quantize(quantum))

    def _weight_line(self, status: str, state: IndicatorState) -> bytes:
        # "S S     100.00 g": the weight value right-aligned in 10 characters.
        value = _format_value(state.displayed)
        return f"S {status} {value:>10} {state.unit}".encode("ascii")

    def _stable_weight(self, state: IndicatorState) -> bytes:
        if state.overload:
            return b"S +"
        if state.underload:
            return b"S -"
        if state.motion:
            # S waits for stability; a simulated balance in motion times out at once.
            return b"S I"
        return self._weight_line("S", state)

    def _immediate_weight(self, state: IndicatorState) -> bytes:
        if state.overload:
            return b"S +"
        if state.underload:
            return b"S -"
        return self._weight_line("D" if state.motion else "S", state)

    def _zero(self, state: IndicatorState) -> bytes:
        if state.motion:
            return b"Z I"
        if state.overload:
            return b"Z +"
        if state.underload:
            return b"Z -"
        # Zeroing sets a new zero point: the load now reads zero and the tare is gone.
        state.weight = Decimal(0).scaleb(-state.decimals)
        state.tare = Decimal(0)
        return b"Z A"

    def _tare(self, state: IndicatorState) -> bytes:
        if state.motion:
            return b"T I"
        if state.overload:
            return b"T +"
        if state.underload or state.weight < 0:
            return b"T -"
        # The tare is the weight change since the last zero setting (the gross load).
        state.tare = state.weight
        return f"T S {self._value(state.tare, state):>10} {state.unit}".encode("ascii")


__all__ = ["MtSicsEmulator", "MtSicsProtocol"]

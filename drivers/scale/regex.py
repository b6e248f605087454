"""A line-based indicator described by a regular expression.

For indicators that have no protocol of their own here: the technician writes the
frame layout from the indicator's manual as a Python regular expression
(https://docs.python.org/3/library/re.html; matched by the ``regex`` module, which
reads the same syntax) with named groups:

``weight`` (required)
    the number, optionally signed, e.g. ``+0012.34``, ``- 12.5`` or ``12,5`` with
    ``decimal=,``. Spaces between the sign and the digits are allowed.
``unit`` (optional)
    the unit as sent, e.g. ``kg``; without it, the ``unit`` option applies.
``status`` (optional)
    a status token, matched against the ``stable``, ``motion``, ``overload`` and
    ``underload`` options (comma-separated values each).
``mode`` (optional)
    a gross/net token, matched against ``net_status`` and ``gross_status``; without
    a ``mode`` group, those options are matched against ``status``.

A frame is the text between two terminators (``terminator`` option, backslash
escapes such as ``\\r\\n`` or ``\\x03`` decoded; by default CR, LF or CR LF), cut
by drivers.scale.framing.LineFramer; a run of more than ``max_length`` bytes
(default 256) without a terminator is reported as unreadable. The pattern is
searched in the frame (use ``^`` and ``$`` to anchor it); the frame is decoded as
Latin-1, so every byte is one character.

A pattern with nested repeats, such as ``(a+)+$``, can take longer than the age of
the universe on a frame it almost matches (catastrophic backtracking), and Python's
``re`` cannot be stopped. The ``regex`` module can: a search that takes longer than
:data:`MATCH_TIMEOUT_S` is abandoned and the frame is reported as an error
(``error="timeout"``), so a bad pattern shows as "no valid signal", never as a
counter that hangs.

The default pattern reads the common ``ST,GS,+0012.34kg`` layout, which is also
what :class:`RegexEmulator` sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import regex

from drivers.scale.framing import CR, CRLF, LF, LineFramer, OverlongFrame
from drivers.scale.protocol import (
    IndicatorEmulator,
    ProtocolOptionError,
    ScaleProtocol,
    SerialDefaults,
)
from drivers.scale.reading import IndicatorState, Reading

DEFAULT_PATTERN = (
    r"^\s*(?P<status>[A-Z]{2}),(?P<mode>[A-Z]{2}),"
    r"(?P<weight>[+-]?\s*[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]+)?\s*$"
)
_DEFAULT_TOKENS: dict[str, str] = {
    "stable": "ST",
    "motion": "US",
    "overload": "OL",
    "underload": "UL",
    "net_status": "NT",
    "gross_status": "GS",
}
DEFAULT_UNIT = "kg"
# A frame longer than this without a terminator is reported as unreadable (the
# ``max_length`` option, within MAX_LENGTH_RANGE).
MAX_FRAME_LENGTH = 256
MAX_LENGTH_RANGE = (8, 4096)
#: The longest one search of the pattern in a frame may take, in seconds. A sane
#: pattern needs microseconds; this only stops a pattern that backtracks for ever.
MATCH_TIMEOUT_S = 0.25

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_KNOWN_UNITS = {"g", "kg", "t", "lb", "oz"}

_OPTIONS_HELP: Mapping[str, str] = {
    "pattern": "regular expression with named groups weight (required), unit, status, "
    "mode; default reads ST,GS,+0012.34kg",
    "terminator": r"frame terminator with escapes, e.g. \r\n or \x03 (default: CR, LF or CR LF)",
    "unit": "unit when the pattern has no unit group or it is empty (default kg)",
    "stable": "comma-separated status values meaning stable (default ST)",
    "motion": "comma-separated status values meaning in motion (default US)",
    "overload": "comma-separated status values meaning over capacity (default OL)",
    "underload": "comma-separated status values meaning under zero (default UL)",
    "net_status": "comma-separated mode (or status) values meaning net (default NT)",
    "gross_status": "comma-separated mode (or status) values meaning gross (default GS)",
    "decimal": "decimal separator of the weight, . (default) or ,",
    "max_length": f"longest frame in bytes, longer is unreadable (default {MAX_FRAME_LENGTH})",
}


def decode_terminator(text: str) -> bytes:
    """The terminator bytes for an option value such as ``\\r\\n`` (escapes decoded)."""
    try:
        decoded = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise ProtocolOptionError(
            f"option 'terminator' is not a valid escaped byte string: {text!r} ({exc.reason})"
        ) from None
    if not decoded:
        raise ProtocolOptionError("option 'terminator' must not be empty")
    return decoded


def _tokens(options: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = options.get(name, _DEFAULT_TOKENS[name])
    return tuple(token.strip() for token in value.split(",") if token.strip())


class RegexProtocol(ScaleProtocol):
    """Parser for any line-based continuous indicator, configured by a regular expression."""

    name = "regex"
    serial_defaults = SerialDefaults(baudrate=9600, bytesize=8, parity="N", stopbits=1)
    polled = False
    options_help: ClassVar[Mapping[str, str]] = _OPTIONS_HELP

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        source = self.options.get("pattern", DEFAULT_PATTERN)
        try:
            self._pattern: Any = regex.compile(source)
        except (regex.error, re.error) as exc:
            raise ProtocolOptionError(
                f"option 'pattern' is not a valid regular expression: {exc} (pattern {source!r})"
            ) from None
        if "weight" not in self._pattern.groupindex:
            raise ProtocolOptionError(
                "option 'pattern' needs a named group for the weight, written "
                f"(?P<weight>...), e.g. (?P<weight>[+-]?[0-9.]+) (pattern {source!r})"
            )
        terminator = self.options.get("terminator")
        self._terminator = None if terminator is None else decode_terminator(terminator)
        unit = self.options.get("unit", DEFAULT_UNIT).strip()
        if not unit:
            raise ProtocolOptionError("option 'unit' must not be empty")
        self._unit = unit
        decimal = self.options.get("decimal", ".").strip()
        if decimal not in (".", ","):
            raise ProtocolOptionError(f"option 'decimal' must be . or , not {decimal!r}")
        self._decimal_comma = decimal == ","
        self._stable = _tokens(self.options, "stable")
        self._motion = _tokens(self.options, "motion")
        self._overload = _tokens(self.options, "overload")
        self._underload = _tokens(self.options, "underload")
        self._net = _tokens(self.options, "net_status")
        self._gross = _tokens(self.options, "gross_status")
        self._has_status = "status" in self._pattern.groupindex
        self._has_mode = "mode" in self._pattern.groupindex
        self._has_unit = "unit" in self._pattern.groupindex
        self._framer = LineFramer(
            (CRLF, CR, LF) if self._terminator is None else (self._terminator,),
            max_length=_max_length(self.options.get("max_length")),
        )

    # -- framing --------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Reading]:
        readings: list[Reading] = []
        try:
            frames = self._framer.feed(data)
        except Exception:  # a parser must never raise on line data
            self._framer.reset()
            return [Reading.unreadable(bytes(data))]
        for frame in frames:
            if isinstance(frame, OverlongFrame):
                readings.append(Reading.unreadable(bytes(frame)))
            elif frame.strip(b" \x00"):
                readings.append(self._decode_safely(frame))
        return readings

    def unfinished(self) -> bytes:
        return self._framer.buffered

    def reset(self) -> None:
        self._framer.reset()

    # -- decoding -------------------------------------------------------------------

    def _decode_safely(self, frame: bytes) -> Reading:
        try:
            return self._decode(frame)
        except TimeoutError:
            return Reading.unreadable(frame, error="timeout")
        except Exception:
            return Reading.unreadable(frame)

    def _decode(self, frame: bytes) -> Reading:
        match = self._pattern.search(frame.decode("latin-1"), timeout=MATCH_TIMEOUT_S)
        if match is None:
            return Reading.unreadable(frame)
        status = _group(match, "status") if self._has_status else None
        mode = _group(match, "mode") if self._has_mode else status
        unit = (_group(match, "unit") if self._has_unit else None) or self._unit
        if unit.lower() in _KNOWN_UNITS:
            unit = unit.lower()
        net = True if mode in self._net else False if mode in self._gross else None
        stable = self._stability(status)
        if status is not None and (status in self._overload or status in self._underload):
            overload = status in self._overload
            return Reading(
                None,
                unit,
                stable,
                overload=overload,
                underload=not overload,
                net=net,
                kind="status",
                raw=frame,
            )
        weight = self._weight(_group(match, "weight"))
        if weight is None:
            return Reading.unreadable(frame)
        return Reading(weight, unit, stable, net=net, raw=frame)

    def _stability(self, status: str | None) -> bool | None:
        if status is None or not (self._stable or self._motion):
            return None
        if status in self._stable:
            return True
        if status in self._motion:
            return False
        # Only one of the lists given: everything else is the other state.
        if not self._motion:
            return False
        if not self._stable:
            return True
        return None

    def _weight(self, text: str | None) -> Decimal | None:
        if text is None:
            return None
        compact = text.replace(" ", "")
        if self._decimal_comma:
            if "." in compact:
                return None
            compact = compact.replace(",", ".")
        if not _NUMBER.fullmatch(compact):
            return None
        try:
            value = Decimal(compact)
        except InvalidOperation:
            return None
        return value.copy_abs() if value.is_zero() else value  # no negative zero


def _group(match: Any, name: str) -> str | None:
    value: str | None = match.group(name)
    if value is None:
        return None
    return value.strip() or None


def _max_length(text: str | None) -> int:
    if text is None:
        return MAX_FRAME_LENGTH
    low, high = MAX_LENGTH_RANGE
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not low <= value <= high:
        raise ProtocolOptionError(
            f"option 'max_length' must be a whole number of bytes from {low} to {high}, "
            f"not {text!r}"
        )
    return value


class RegexEmulator(IndicatorEmulator):
    """Sends lines in the default pattern's layout: ``ST,GS,+0012.34kg``.

    Status and mode tokens are the first of the configured
    ``stable``/``motion``/``overload``/``underload``/``net_status``/``gross_status``
    values, and the line ends with the configured terminator (CR LF by default). A
    custom ``pattern`` is not used: the emulator cannot write arbitrary layouts.
    """

    protocol = "regex"
    continuous = True
    options_help: ClassVar[Mapping[str, str]] = _OPTIONS_HELP

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        super().__init__(options)
        terminator = self.options.get("terminator")
        self._terminator = b"\r\n" if terminator is None else decode_terminator(terminator)
        # The first configured value of each list (or the default token).
        self._tokens = {
            name: (_tokens(self.options, name) or (default,))[0]
            for name, default in _DEFAULT_TOKENS.items()
        }

    def frame(self, state: IndicatorState) -> bytes:
        if state.overload:
            status = self._tokens["overload"]
        elif state.underload:
            status = self._tokens["underload"]
        else:
            status = self._tokens["motion" if state.motion else "stable"]
        mode = self._tokens["net_status" if state.net else "gross_status"]
        displayed = state.displayed
        sign = "-" if displayed < 0 else "+"
        line = f"{status},{mode},{sign}{abs(displayed):07.{state.decimals}f}{state.unit}"
        return line.encode("latin-1") + self._terminator


__all__ = [
    "DEFAULT_PATTERN",
    "MATCH_TIMEOUT_S",
    "MAX_FRAME_LENGTH",
    "RegexEmulator",
    "RegexProtocol",
    "decode_terminator",
]

"""The shape every scale protocol takes (sans-I/O, after h11).

A protocol object is fed the bytes that arrived, in whatever chunks they came, and
returns the readings of every complete frame. It never touches a port or a clock:
the transport owns the port and stamps ``received_at``. Request/response protocols
say which bytes to send to ask for a weight, a zero or a tare.

An emulator is the other side of the line: it turns an :class:`IndicatorState` into
the bytes a real indicator would send, so the simulator can speak every protocol.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Concatenate, ParamSpec

from drivers.scale.reading import DEFAULT_CAPACITY_KG, IndicatorState, Reading, within_range

_P = ParamSpec("_P")
_ReadingsMethod = Callable[Concatenate["ScaleProtocol", _P], list[Reading]]


def _range_checked(method: _ReadingsMethod[_P]) -> _ReadingsMethod[_P]:
    """``method``, with every reading it returns passed through :func:`within_range`."""

    @functools.wraps(method)
    def checked(self: ScaleProtocol, /, *args: _P.args, **kwargs: _P.kwargs) -> list[Reading]:
        return [within_range(r, self.capacity_kg) for r in method(self, *args, **kwargs)]

    return checked


def decode_frames(frames: Iterable[bytes], decode: Callable[[bytes], Reading]) -> list[Reading]:
    """Decode every frame; one the decoder chokes on becomes an unreadable reading.

    A parser must never take the transport down: whatever the line carried, the
    caller gets readings, and a decoder bug shows up as unreadable frames.
    """
    readings: list[Reading] = []
    for frame in frames:
        try:
            readings.append(decode(frame))
        except Exception:
            readings.append(Reading.unreadable(bytes(frame)))
    return readings


class ProtocolOptionError(ValueError):
    """An option given to a protocol (``--option K=V`` or the config) is wrong."""


@dataclass(frozen=True, slots=True)
class SerialDefaults:
    """The line settings an indicator uses out of the box (its manual's defaults)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


class ScaleProtocol(ABC):
    """Sans-I/O parser for one indicator protocol."""

    name: ClassVar[str]
    serial_defaults: ClassVar[SerialDefaults] = SerialDefaults()
    #: True when the indicator only answers requests (it must be polled).
    polled: ClassVar[bool] = False
    #: Option names this protocol accepts, with a one-line description each.
    options_help: ClassVar[Mapping[str, str]] = {}
    #: The most the scale can weigh (``[scale] capacity_kg``): a weight beyond it, or
    #: a number no indicator can show, comes out as a bad frame (``error="range"``).
    capacity_kg: Decimal = DEFAULT_CAPACITY_KG
    #: True when the indicator answers a zero request with its own verdict (a load
    #: beyond its zero-setting range is refused and said so on the line): then it,
    #: not the counter, decides whether a loaded scale may be zeroed.
    judges_zero_range: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        # The one place every parser's readings pass: whatever a protocol module
        # decodes, ``feed`` and ``finish`` never hand out an impossible weight.
        super().__init_subclass__(**kwargs)
        for name in ("feed", "finish"):
            if name in cls.__dict__:
                setattr(cls, name, _range_checked(cls.__dict__[name]))

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        self.options = dict(options or {})
        unknown = sorted(set(self.options) - set(self.options_help))
        if unknown:
            known = ", ".join(sorted(self.options_help)) or "none"
            raise ProtocolOptionError(
                f"protocol {self.name!r} has no option {unknown[0]!r} (options: {known})"
            )

    @abstractmethod
    def feed(self, data: bytes) -> list[Reading]:
        """Take received bytes; return a reading for every frame they completed."""

    def unfinished(self) -> bytes:
        """Bytes held that do not make a frame yet (the start of the next one, say)."""
        return b""

    @abstractmethod
    def reset(self) -> None:
        """Drop a partial frame: the transport calls this when it (re)opens the port,
        so the tail of the last connection never joins the head of the next."""

    def finish(self) -> list[Reading]:
        """The input has ended: readings for what the parser still holds.

        Bytes that never completed a frame come back as one unreadable reading with
        ``error="incomplete"``, so a capture that ends mid-frame is not silently
        shorter. A protocol that holds a whole frame while it waits to see what
        follows (Toledo's optional checksum) decodes it here instead. For the end of
        a stream (``counter scale decode``): feed the parser nothing after this.
        """
        held = self.unfinished()
        return [Reading.unreadable(held, error="incomplete")] if held else []

    def weight_request(self) -> bytes | None:
        """Bytes that ask the indicator for one weight; ``None`` if it streams."""
        return None

    def zero_request(self) -> bytes | None:
        """Bytes that zero the indicator, if the protocol has such a command."""
        return None

    def tare_request(self) -> bytes | None:
        """Bytes that tare the indicator, if the protocol has such a command."""
        return None


class IndicatorEmulator(ABC):
    """Produces what a real indicator of one protocol sends (for the simulator)."""

    protocol: ClassVar[str]
    #: True when the indicator streams frames by itself; False when it only answers.
    continuous: ClassVar[bool] = True
    #: False when the format cannot say "in motion" (XK3190): a simulated load in
    #: motion then has to wobble, as a real one does, for the receiver to notice.
    has_motion_flag: ClassVar[bool] = True
    options_help: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        self.options = dict(options or {})

    def frame(self, state: IndicatorState) -> bytes:
        """One continuous-output frame for the state (continuous emulators)."""
        raise NotImplementedError(f"{self.protocol} indicators do not stream")

    def receive(self, data: bytes, state: IndicatorState) -> bytes:
        """Take request bytes (any chunking); return the replies to complete requests.

        A zero or tare request changes ``state`` in place, as the indicator would.
        """
        return b""

"""Framing: cutting a byte stream into frames, apart from what the frames mean.

After pyserial's ``serial.threaded`` (``Packetizer`` cuts, ``handle_packet`` reads): a
framer only knows where a frame ends; a protocol module decodes each frame. The one
framer here serves every protocol whose frames end in a terminator (comma, MT-SICS,
regex: CR / LF / CR LF; NCI: ETX; SMA: CR). It takes bytes in any chunking and returns
the frames those bytes completed, so that feeding a stream whole or split at any
position gives the same frames. Toledo and XK3190 frames are told apart by what they
start with and how long they are, so those modules cut their own.

Usage in a protocol module::

    self._framer = LineFramer(max_length=80)

    def feed(self, data: bytes) -> list[Reading]:
        return [self._decode(frame) for frame in self._framer.feed(data)]

    def _decode(self, frame: bytes) -> Reading:
        if isinstance(frame, OverlongFrame):
            return unreadable(frame)
        ...

Line noise (a wrong baud rate, a loose connector) can produce long runs without a
terminator. A framer never buffers more than ``max_length`` bytes of one frame: the
run is cut there and handed out as an :class:`OverlongFrame`, so the protocol can
report it as unreadable rather than let the buffer grow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum, auto

STX = b"\x02"
ETX = b"\x03"
CR = b"\r"
LF = b"\n"
CRLF = b"\r\n"


class OverlongFrame(bytes):
    """A run of bytes that exceeded the framer's ``max_length`` without an end.

    It is ``bytes`` (so it can go into ``Reading.raw`` as it is) and always exactly
    ``max_length + 1`` bytes long; the framer drops it from its buffer and goes on
    with the bytes after it. Protocols report it as ``error="unreadable"``.
    """

    __slots__ = ()


def _as_terminators(values: Iterable[bytes], what: str) -> tuple[bytes, ...]:
    result = tuple(bytes(v) for v in values)
    if not result or any(not t for t in result):
        raise ValueError(f"{what} must be one or more non-empty byte strings")
    return result


class _LineState(IntEnum):
    """Where a :class:`LineFramer` stands between two ``feed`` calls.

    Int-valued only so that looking up a state's step hashes in C.
    """

    #: Collecting the bytes of a frame.
    IN_FRAME = auto()
    #: A frame just ended on a terminator that begins a longer one (CR of CR LF): the
    #: rest of the longer one (LF) may follow and then belongs to that end.
    AFTER_SHORT_END = auto()


class LineFramer:
    """Splits a stream on line terminators (CR, LF or CR LF by default).

    ``terminators``: byte strings that end a frame; when several match at one
    position the longest wins. ``skip_empty``: drop empty frames (so CR LF, or a
    blank line, never yields an empty frame). ``max_length``: the longest frame
    kept; longer runs come out as :class:`OverlongFrame`. ``keep_terminator``: a
    frame ends with the terminator that ended it (for protocols whose frames are
    checked to the last byte, as NCI's ETX); no terminator may then begin another,
    or a frame would end differently depending on where a chunk was cut.

    A terminator that is the start of a longer one (CR of CR LF) ends the frame at
    once, so a CR-only indicator is never kept waiting; if the rest of the longer
    terminator (LF) follows, it is swallowed, also across chunk boundaries.
    """

    def __init__(
        self,
        terminators: Iterable[bytes] = (CRLF, CR, LF),
        *,
        max_length: int = 256,
        skip_empty: bool = True,
        keep_terminator: bool = False,
    ) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        # Longest first, so that at one position CR LF wins over CR.
        self.terminators = tuple(
            sorted(_as_terminators(terminators, "terminators"), key=len, reverse=True)
        )
        self.max_length = max_length
        self.skip_empty = skip_empty
        self.keep_terminator = keep_terminator
        # The buffer may end in the first bytes of the longest terminator: only a run
        # longer than this cannot end within max_length any more.
        self._longest_run = max_length + len(self.terminators[0]) - 1
        # For each terminator, the rests of the longer ones it begins (b"\n" for CR).
        self._rests_after = {
            t: tuple(u[len(t) :] for u in self.terminators if len(u) > len(t) and u.startswith(t))
            for t in self.terminators
        }
        if keep_terminator and any(self._rests_after.values()):
            raise ValueError("keep_terminator needs terminators that do not begin one another")
        self._buffer = bytearray()
        self._state = _LineState.IN_FRAME
        self._rests: tuple[bytes, ...] = ()
        self._steps: dict[_LineState, Callable[[list[bytes]], bool]] = {
            _LineState.IN_FRAME: self._in_frame,
            _LineState.AFTER_SHORT_END: self._after_short_end,
        }

    @property
    def buffered(self) -> bytes:
        """Bytes of the frame not completed yet."""
        return bytes(self._buffer)

    def reset(self) -> None:
        """Forget a partial frame (after a reconnect, say)."""
        self._buffer.clear()
        self._state = _LineState.IN_FRAME
        self._rests = ()

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return every frame they completed, in order."""
        self._buffer += data
        frames: list[bytes] = []
        steps = self._steps
        while steps[self._state](frames):
            pass
        return frames

    # -- one step per state: each returns False when it needs more bytes --------------

    def _in_frame(self, frames: list[bytes]) -> bool:
        buffer = self._buffer
        found = self._find_terminator()
        if found is None:
            if len(buffer) > self._longest_run:
                self._cut_overlong(frames)
                return True
            return False
        index, terminator = found
        if index > self.max_length:
            self._cut_overlong(frames)
            return True
        end = index + len(terminator)
        frame = bytes(buffer[: end if self.keep_terminator else index])
        del buffer[:end]
        if index or not self.skip_empty:
            frames.append(frame)
        rests = self._rests_after[terminator]
        if rests:
            self._rests = rests
            self._state = _LineState.AFTER_SHORT_END
        return True

    def _after_short_end(self, frames: list[bytes]) -> bool:
        buffer = self._buffer
        for rest in self._rests:
            if buffer.startswith(rest):
                del buffer[: len(rest)]
                break
            if rest.startswith(buffer):
                return False  # could still become the rest (also when empty)
        self._rests = ()
        self._state = _LineState.IN_FRAME
        return True

    def _find_terminator(self) -> tuple[int, bytes] | None:
        buffer = self._buffer
        best: tuple[int, bytes] | None = None
        for terminator in self.terminators:
            index = buffer.find(terminator)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, terminator)
        return best

    def _cut_overlong(self, frames: list[bytes]) -> None:
        cut = self.max_length + 1
        frames.append(OverlongFrame(self._buffer[:cut]))
        del self._buffer[:cut]


__all__ = ["CR", "CRLF", "ETX", "LF", "STX", "LineFramer", "OverlongFrame"]

"""Framing: cutting a byte stream into frames, apart from what the frames mean.

After pyserial's ``serial.threaded`` (``LineReader``, ``FramedPacket``): a framer only
knows where a frame starts and ends; a protocol module decodes each frame. Both
framers here take bytes in any chunking and return the frames those bytes completed,
so that feeding a stream whole or split at any position gives the same frames.

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

from collections.abc import Iterable

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


class LineFramer:
    """Splits a stream on line terminators (CR, LF or CR LF by default).

    ``terminators``: byte strings that end a frame; when several match at one
    position the longest wins. ``skip_empty``: drop empty frames (so CR LF, or a
    blank line, never yields an empty frame). ``max_length``: the longest frame
    kept; longer runs come out as :class:`OverlongFrame`.

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
    ) -> None:
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        # Longest first, so that at one position CR LF wins over CR.
        self.terminators = tuple(
            sorted(_as_terminators(terminators, "terminators"), key=len, reverse=True)
        )
        self.max_length = max_length
        self.skip_empty = skip_empty
        self._buffer = bytearray()
        # Rests of longer terminators still allowed right after the last frame's end
        # (b"\n" after a frame ended on b"\r" when CR LF is a terminator).
        self._rests: tuple[bytes, ...] = ()

    @property
    def buffered(self) -> bytes:
        """Bytes of the frame not completed yet."""
        return bytes(self._buffer)

    def reset(self) -> None:
        """Forget a partial frame (after a reconnect, say)."""
        self._buffer.clear()
        self._rests = ()

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return every frame they completed, in order."""
        self._buffer.extend(data)
        frames: list[bytes] = []
        while True:
            if self._rests and not self._swallow_rest():
                break  # the buffer is a prefix of a terminator's rest: wait for more
            found = self._find_terminator()
            if found is None:
                # The tail may be the start of a multi-byte terminator: only cut when
                # no terminator can end the frame within max_length any more.
                if len(self._buffer) > self.max_length + len(self.terminators[0]) - 1:
                    self._cut_overlong(frames)
                    continue
                break
            index, terminator = found
            if index > self.max_length:
                self._cut_overlong(frames)
                continue
            frame = bytes(self._buffer[:index])
            del self._buffer[: index + len(terminator)]
            self._rests = tuple(
                t[len(terminator) :]
                for t in self.terminators
                if len(t) > len(terminator) and t.startswith(terminator)
            )
            if frame or not self.skip_empty:
                frames.append(frame)
        return frames

    def _swallow_rest(self) -> bool:
        """Drop the rest of a longer terminator; False when more bytes are needed."""
        for rest in self._rests:
            if self._buffer.startswith(rest):
                del self._buffer[: len(rest)]
                self._rests = ()
                return True
            if rest.startswith(bytes(self._buffer)):
                return False  # could still become the rest (also when empty)
        self._rests = ()
        return True

    def _find_terminator(self) -> tuple[int, bytes] | None:
        best: tuple[int, bytes] | None = None
        for terminator in self.terminators:
            index = self._buffer.find(terminator)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, terminator)
        return best

    def _cut_overlong(self, frames: list[bytes]) -> None:
        cut = self.max_length + 1
        frames.append(OverlongFrame(self._buffer[:cut]))
        del self._buffer[:cut]
        self._rests = ()


class StxEtxFramer:
    """Frames that start with STX (0x02) and end with ETX (0x03) or CR.

    ``start``: the start byte string. ``ends``: byte strings that end a frame.
    ``trailer_length``: bytes that follow the end and still belong to the frame (the
    checksum byte after CR in Toledo continuous output). ``keep_delimiters``: return
    ``start + body + end + trailer`` (for checksums over the whole frame) instead of
    just the body. ``max_length``: the longest body kept; a longer one comes out as
    an :class:`OverlongFrame` holding the first ``max_length + 1`` body bytes, and
    the framer then waits for the next start.

    Bytes outside a frame are dropped and counted in :attr:`discarded`. A start
    inside a frame begins a new frame (the partial one is discarded): that is how
    the framer gets back in step after a lost end byte.
    """

    def __init__(
        self,
        start: bytes = STX,
        ends: Iterable[bytes] = (ETX, CR),
        *,
        trailer_length: int = 0,
        keep_delimiters: bool = False,
        max_length: int = 256,
    ) -> None:
        if not start:
            raise ValueError("start must be a non-empty byte string")
        if max_length < 1:
            raise ValueError("max_length must be at least 1")
        if trailer_length < 0:
            raise ValueError("trailer_length must not be negative")
        self.start = bytes(start)
        self.ends = tuple(sorted(_as_terminators(ends, "ends"), key=len, reverse=True))
        self.trailer_length = trailer_length
        self.keep_delimiters = keep_delimiters
        self.max_length = max_length
        #: Bytes dropped because they were outside any frame.
        self.discarded = 0
        self._buffer = bytearray()
        self._in_frame = False

    @property
    def buffered(self) -> bytes:
        return bytes(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()
        self._in_frame = False

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes; return every frame they completed, in order."""
        self._buffer.extend(data)
        frames: list[bytes] = []
        while self._step(frames):
            pass
        return frames

    def _step(self, frames: list[bytes]) -> bool:
        """Make one frame or one resync; False when more bytes are needed."""
        start = self.start
        if not self._in_frame:
            index = self._buffer.find(start)
            if index < 0:
                # Keep a tail that may be the beginning of a multi-byte start.
                keep = len(start) - 1
                while keep and not start.startswith(bytes(self._buffer[-keep:])):
                    keep -= 1
                drop = len(self._buffer) - keep
                self.discarded += drop
                del self._buffer[:drop]
                return False
            self.discarded += index
            del self._buffer[: index + len(start)]
            self._in_frame = True
        # Inside a frame: the buffer holds the body (and maybe its end and trailer).
        end_at: tuple[int, bytes] | None = None
        for end in self.ends:
            index = self._buffer.find(end)
            if index >= 0 and (end_at is None or index < end_at[0]):
                end_at = (index, end)
        restart = self._buffer.find(start)
        if restart >= 0 and (end_at is None or restart < end_at[0]):
            if restart > self.max_length:
                self._cut_overlong(frames)
                return True
            # A new start before any end: the partial frame is lost.
            self.discarded += len(start) + restart
            del self._buffer[:restart]
            self._in_frame = False
            return True
        if end_at is None:
            # As in LineFramer: a partial delimiter may sit at the end of the buffer.
            longest = max(len(start), len(self.ends[0]))
            if len(self._buffer) > self.max_length + longest - 1:
                self._cut_overlong(frames)
                return True
            return False
        index, end = end_at
        if index > self.max_length:
            self._cut_overlong(frames)
            return True
        total = index + len(end) + self.trailer_length
        if len(self._buffer) < total:
            return False  # the trailer (checksum) has not arrived yet
        body = bytes(self._buffer[:index])
        tail = bytes(self._buffer[index:total])
        del self._buffer[:total]
        self._in_frame = False
        frames.append(start + body + tail if self.keep_delimiters else body)
        return True

    def _cut_overlong(self, frames: list[bytes]) -> None:
        cut = self.max_length + 1
        frames.append(OverlongFrame(self._buffer[:cut]))
        del self._buffer[:cut]
        self._in_frame = False


__all__ = ["CR", "CRLF", "ETX", "LF", "STX", "LineFramer", "OverlongFrame", "StxEtxFramer"]

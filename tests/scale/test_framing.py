"""Framing: the same frames whatever the chunking, bounded buffers, resync."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scale.framing import (
    CR,
    CRLF,
    ETX,
    LF,
    LineFramer,
    OverlongFrame,
)


def feed_chunks(framer: LineFramer, chunks: Sequence[bytes]) -> list[bytes]:
    frames: list[bytes] = []
    for chunk in chunks:
        frames.extend(framer.feed(chunk))
    return frames


def split_at(data: bytes, *positions: int) -> list[bytes]:
    cuts = [0, *sorted(positions), len(data)]
    return [data[a:b] for a, b in pairwise(cuts)]


STREAM = b"ST,GS,+0012.34kg\r\nUS,GS,+0001.00kg\rOL,GS,+    .  kg\n\r\n\nQT,+0000012 PC\r\n"
STREAM_FRAMES = [
    b"ST,GS,+0012.34kg",
    b"US,GS,+0001.00kg",
    b"OL,GS,+    .  kg",
    b"QT,+0000012 PC",
]


class TestLineFramer:
    def test_splits_on_cr_lf_and_crlf_and_skips_empty_frames(self) -> None:
        assert LineFramer().feed(STREAM) == STREAM_FRAMES

    @pytest.mark.parametrize("position", range(len(STREAM) + 1))
    def test_split_at_every_position_gives_the_same_frames(self, position: int) -> None:
        assert feed_chunks(LineFramer(), split_at(STREAM, position)) == STREAM_FRAMES

    def test_byte_by_byte_gives_the_same_frames(self) -> None:
        chunks = [STREAM[i : i + 1] for i in range(len(STREAM))]
        assert feed_chunks(LineFramer(), chunks) == STREAM_FRAMES

    def test_partial_frame_waits_for_its_terminator(self) -> None:
        framer = LineFramer()
        assert framer.feed(b"ST,GS,+00") == []
        assert framer.buffered == b"ST,GS,+00"
        assert framer.feed(b"12.34kg\r\n") == [b"ST,GS,+0012.34kg"]
        assert framer.buffered == b""

    def test_cr_alone_ends_the_frame_at_once(self) -> None:
        # A CR-only indicator must not wait for an LF that never comes.
        framer = LineFramer()
        assert framer.feed(b"ST,+00001.00  g\r") == [b"ST,+00001.00  g"]

    def test_keeping_empty_frames_swallows_the_lf_of_crlf_across_chunks(self) -> None:
        framer = LineFramer(skip_empty=False)
        assert framer.feed(b"A\r") == [b"A"]
        assert framer.feed(b"\nB\r\n\r\n") == [b"B", b""]

    def test_custom_terminator(self) -> None:
        framer = LineFramer([ETX])
        assert framer.feed(b"one\x03two\x03thr") == [b"one", b"two"]
        assert framer.feed(b"ee\x03") == [b"three"]

    def test_kept_terminator_ends_the_frame(self) -> None:
        framer = LineFramer([ETX], keep_terminator=True, skip_empty=False)
        assert framer.feed(b"\nab\r\x03\x03\nc") == [b"\nab\r\x03", b"\x03"]
        assert framer.buffered == b"\nc"

    def test_kept_terminator_may_follow_a_frame_of_max_length(self) -> None:
        framer = LineFramer([ETX], keep_terminator=True, max_length=3, skip_empty=False)
        frames = framer.feed(b"abc\x03abcd\x03")
        assert frames == [b"abc\x03", b"abcd", b"\x03"]
        assert isinstance(frames[1], OverlongFrame)

    def test_multi_byte_terminator_split_across_chunks_near_the_length_limit(self) -> None:
        data = b"abcde\r\nxy\r\n"
        expected = LineFramer([CRLF], max_length=5).feed(data)
        assert expected == [b"abcde", b"xy"]
        for position in range(len(data) + 1):
            framer = LineFramer([CRLF], max_length=5)
            assert feed_chunks(framer, split_at(data, position)) == expected

    def test_overlong_run_is_cut_marked_and_dropped(self) -> None:
        framer = LineFramer(max_length=10)
        frames = framer.feed(b"x" * 25 + b"\r\nST\r\n")
        assert frames[0] == b"x" * 11
        assert isinstance(frames[0], OverlongFrame)
        assert isinstance(frames[1], OverlongFrame)
        assert frames[2:] == [b"xxx", b"ST"]
        assert not isinstance(frames[2], OverlongFrame)
        assert framer.buffered == b""

    def test_buffer_never_grows_past_the_limit(self) -> None:
        framer = LineFramer(max_length=16)
        for _ in range(1000):
            framer.feed(b"\xaa\x55\x00")
            # At most max_length, plus a possible partial CR LF at the end.
            assert len(framer.buffered) <= 16 + 1

    def test_reset_drops_a_partial_frame(self) -> None:
        framer = LineFramer()
        framer.feed(b"ST,GS,+00")
        framer.reset()
        assert framer.feed(b"US,GS,+0000.10kg\r\n") == [b"US,GS,+0000.10kg"]

    def test_rejects_empty_terminators(self) -> None:
        with pytest.raises(ValueError):
            LineFramer([b""])
        with pytest.raises(ValueError):
            LineFramer(max_length=0)
        with pytest.raises(ValueError, match="keep_terminator"):
            LineFramer(keep_terminator=True)  # CR begins CR LF

    @given(
        data=st.lists(
            st.sampled_from([b"a", b"b", CR, LF, CRLF, b"\x00", b"xyz"]), max_size=60
        ).map(b"".join),
        cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
        max_length=st.integers(min_value=1, max_value=12),
        skip_empty=st.booleans(),
        keep_terminator=st.booleans(),
    )
    def test_any_chunking_gives_the_same_frames(
        self,
        data: bytes,
        cuts: list[int],
        max_length: int,
        skip_empty: bool,
        keep_terminator: bool,
    ) -> None:
        # A kept terminator must not begin another one (CR of CR LF).
        terminators = (CR, LF) if keep_terminator else (CRLF, CR, LF)

        def framer() -> LineFramer:
            return LineFramer(
                terminators,
                max_length=max_length,
                skip_empty=skip_empty,
                keep_terminator=keep_terminator,
            )

        whole = framer().feed(data)
        chunked = feed_chunks(framer(), split_at(data, *[c % (len(data) + 1) for c in cuts]))
        assert chunked == whole
        assert [type(f) for f in chunked] == [type(f) for f in whole]
        assert all(len(f) <= max_length + 1 for f in whole)

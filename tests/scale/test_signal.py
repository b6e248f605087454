"""The signal judgement, with explicit times: silent, unreadable, ok."""

from __future__ import annotations

from decimal import Decimal

from drivers.scale.reading import Reading
from drivers.scale.signal import SignalJudge, SignalState

GOOD = Reading(Decimal("1.00"), "kg", True, raw=b"ST,GS,+0001.00kg")
BAD = Reading(None, None, None, kind="error", error="unreadable", raw=b"\xff\x00")
CHECKSUM = Reading(None, None, None, kind="error", error="checksum", raw=b"\x02...")
REPLY_ERROR = Reading(None, None, None, kind="error", error="syntax", raw=b"ES")


def test_nothing_received_is_waiting() -> None:
    assert SignalJudge().state(10_000) is SignalState.WAITING


def test_good_frames_are_ok_and_silence_after_them_is_silent() -> None:
    judge = SignalJudge(silent_after_ms=1500)
    judge.reading_arrived(GOOD, 0)
    assert judge.state(100) is SignalState.OK
    assert judge.state(1500) is SignalState.OK
    assert judge.state(1501) is SignalState.SILENT


def test_a_streak_of_bad_frames_is_unreadable_and_one_good_frame_ends_it() -> None:
    judge = SignalJudge(unreadable_streak=3)
    judge.reading_arrived(GOOD, 0)
    judge.reading_arrived(BAD, 10)
    judge.reading_arrived(CHECKSUM, 20)
    assert judge.state(25) is SignalState.OK  # two bad frames in a good stream
    judge.reading_arrived(BAD, 30)
    assert judge.state(35) is SignalState.UNREADABLE
    judge.reading_arrived(GOOD, 40)
    assert judge.state(45) is SignalState.OK


def test_bytes_without_any_frame_become_unreadable() -> None:
    # Wrong baud rate: bytes keep coming, but no terminator ever makes a frame.
    judge = SignalJudge(unreadable_after_ms=1000)
    judge.reading_arrived(GOOD, 0)
    for t in range(100, 1200, 100):
        judge.bytes_arrived(t)
    assert judge.state(1100) is SignalState.UNREADABLE


def test_noise_from_the_start_is_unreadable_not_waiting_forever() -> None:
    judge = SignalJudge(unreadable_after_ms=1000)
    for t in range(0, 1300, 100):
        judge.bytes_arrived(t)
    assert judge.state(500) is SignalState.WAITING
    assert judge.state(1200) is SignalState.UNREADABLE


def test_an_indicator_error_reply_proves_the_line_is_readable() -> None:
    judge = SignalJudge(unreadable_streak=3)
    for t in range(5):
        judge.reading_arrived(REPLY_ERROR, t)
    assert judge.state(10) is SignalState.OK


def test_reset_forgets() -> None:
    judge = SignalJudge()
    judge.reading_arrived(GOOD, 0)
    judge.reset()
    assert judge.state(1) is SignalState.WAITING

"""DLE EOT requests and replies, per the bit tables of the Epson ESC/POS reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.connection import PaperState, PrinterStatus
from drivers.printer.status import (
    collect_replies,
    decode_replies,
    first_status_byte,
    is_status_byte,
    not_ready_reason,
    parse_status,
    status_request,
    status_requests,
)

NOTHING_TO_REPORT = 0x12  # the fixed bits alone: bit 1 and bit 4 set


def test_requests_are_dle_eot_1_2_4() -> None:
    assert status_requests() == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    assert status_request(3) == b"\x10\x04\x03"
    with pytest.raises(ValueError):
        status_request(5)


def test_healthy_printer() -> None:
    status = parse_status({1: 0x12, 2: 0x12, 4: 0x12})

    assert status == PrinterStatus(
        answered=True, online=True, cover_open=False, paper=PaperState.OK, error=False
    )
    assert status.ready is True


@pytest.mark.parametrize(
    ("replies", "field", "value"),
    [
        ({1: 0x1A}, "online", False),  # n=1 bit 3: offline
        ({2: 0x16}, "cover_open", True),  # n=2 bit 2: cover open
        ({2: 0x32}, "paper", PaperState.OUT),  # n=2 bit 5: stopped by paper end
        ({2: 0x52}, "error", True),  # n=2 bit 6: error occurred
        ({3: 0x1A}, "error", True),  # n=3 bit 3: autocutter error
        ({3: 0x32}, "error", True),  # n=3 bit 5: unrecoverable error
        ({3: 0x52}, "error", True),  # n=3 bit 6: automatically recoverable error
        ({4: 0x1E}, "paper", PaperState.NEAR_END),  # n=4 bits 2-3: near end
        ({4: 0x16}, "paper", PaperState.NEAR_END),  # one near-end sensor (Citizen)
        ({4: 0x72}, "paper", PaperState.OUT),  # n=4 bits 5-6: paper end
        ({4: 0x7E}, "paper", PaperState.OUT),  # near end and end together
        ({4: 0x12}, "paper", PaperState.OK),
    ],
)
def test_each_bit_of_the_epson_tables(
    replies: dict[int, int | None], field: str, value: object
) -> None:
    status = parse_status(replies)

    assert status.answered is True
    assert getattr(status, field) == value


def test_details_keep_the_bits_printer_status_has_no_field_for() -> None:
    details = decode_replies({1: 0x12 | 0x20 | 0x40, 2: 0x12 | 0x08, 3: 0x12 | 0x08})

    assert details.waiting_for_recovery is True
    assert details.feed_button_pressed is True
    assert details.feeding_by_button is True
    assert details.autocutter_error is True
    assert details.unrecoverable_error is False
    assert details.paper_end is None  # n=4 not asked


def test_no_reply_is_unknown_not_fine() -> None:
    status = parse_status({1: None, 2: None, 4: None})

    assert status == PrinterStatus(answered=False)
    assert status.paper is PaperState.UNKNOWN
    assert status.ready is None
    assert parse_status({}).answered is False


def test_replies_without_the_fixed_bits_are_no_answer() -> None:
    # 0x00 and 0xFF are line noise; 0x11 / 0x13 are XON / XOFF on a serial line.
    assert parse_status({1: 0x00, 2: 0xFF, 4: 0x11}).answered is False
    assert parse_status({1: 0x13, 2: 0x12}).online is None


def test_partial_answers_leave_the_rest_unknown() -> None:
    status = parse_status({1: 0x12, 2: None, 4: None})

    assert status.answered is True
    assert status.online is True
    assert status.cover_open is None
    assert status.paper is PaperState.UNKNOWN
    assert status.error is None
    assert status.ready is True  # nothing it said stops printing


def test_offline_cause_without_paper_sensor_does_not_claim_paper_ok() -> None:
    assert parse_status({2: 0x12}).paper is PaperState.UNKNOWN


def test_first_status_byte_skips_flow_control_and_noise() -> None:
    assert first_status_byte(b"\x11\x13\x00\x1a\x12") == 0x1A
    assert first_status_byte(b"\x11") is None
    assert first_status_byte(b"") is None


def test_collect_replies_stops_asking_after_silence() -> None:
    asked: list[int] = []

    def silent_after_first(n: int) -> int | None:
        asked.append(n)
        return 0x12 if n == 1 else None

    replies = collect_replies(silent_after_first)

    assert replies == {1: 0x12, 2: None, 4: None}
    assert asked == [1, 2]


def test_not_ready_reasons() -> None:
    assert not_ready_reason(parse_status({1: 0x1A, 2: 0x32, 4: 0x7E})) == "out of paper"
    assert not_ready_reason(parse_status({1: 0x1A, 2: 0x16})) == "cover open"
    assert not_ready_reason(parse_status({1: 0x1A, 2: 0x12})) == "offline"


@given(
    st.dictionaries(
        st.sampled_from([1, 2, 3, 4]), st.one_of(st.none(), st.integers(0, 255)), max_size=4
    )
)
def test_any_reply_bytes_give_a_consistent_status(replies: dict[int, int | None]) -> None:
    status = parse_status(replies)

    valid = [v for v in replies.values() if v is not None and is_status_byte(v)]
    assert status.answered is bool(valid)
    if not status.answered:
        assert status == PrinterStatus(answered=False)
    if status.paper is PaperState.OUT or status.cover_open or status.error:
        assert status.ready is False

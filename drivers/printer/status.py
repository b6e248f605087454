"""Real-time printer status (ESC/POS ``DLE EOT n``), sans-I/O: bytes to ask, replies to meaning.

``DLE EOT n`` (hex ``10 04 n``) makes the printer answer one status byte at once, even
while it is offline or its buffer is full (Epson ESC/POS command reference, "DLE EOT n:
Transmit real-time status"; the bit tables below follow the Epson TM-T88III
specification, section DLE EOT, which TM-T20, TM-U220 and most clones share):

``n = 1`` printer status
    bit 3: 0 online, 1 offline; bit 5: waiting for online recovery; bit 6: paper feed
    button pressed (bits 5 and 6 are "reserved" on some models, e.g. TM-U220).
``n = 2`` offline cause
    bit 2: cover open; bit 3: paper being fed by the feed button; bit 5: printing
    stopped by paper end; bit 6: an error occurred.
``n = 3`` error cause
    bit 3: autocutter error; bit 5: unrecoverable error; bit 6: automatically
    recoverable error (head too hot, cover opened while printing).
``n = 4`` roll paper sensor
    bits 2 and 3: paper near end; bits 5 and 6: paper end (no paper).

In every reply bit 1 and bit 4 are fixed to 1 and bit 0 and bit 7 fixed to 0, so a
status byte always matches ``byte & 0x93 == 0x12``. That pattern tells a status byte
apart from XON (``0x11``) and XOFF (``0x13``) on a serial line and from noise.

python-escpos's ``paper_status()`` reports "paper adequate" when the printer does not
answer at all; here a missing reply is ``None``, and no reply at all is
``answered=False``: unknown, never fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drivers.printer.connection import PaperState, PrinterStatus

DLE = 0x10
EOT = 0x04

PRINTER_STATUS = 1
OFFLINE_CAUSE = 2
ERROR_CAUSE = 3
PAPER_SENSOR = 4

#: The requests a connection sends, in this order. ``ERROR_CAUSE`` is left out: the
#: error bit of the offline cause already says "error", and each request costs a
#: round trip (up to the reply timeout on a printer that ignores it).
STATUS_REQUESTS: tuple[int, ...] = (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR)

_FIXED_MASK = 0x93  # bits 0, 1, 4, 7
_FIXED_VALUE = 0x12  # bit 1 and bit 4 set, bit 0 and bit 7 clear

# n = 1
_OFFLINE = 0x08
_WAITING_FOR_RECOVERY = 0x20
_FEED_BUTTON_PRESSED = 0x40
# n = 2
_COVER_OPEN = 0x04
_FEEDING_BY_BUTTON = 0x08
_PAPER_END_STOP = 0x20
_ERROR_OCCURRED = 0x40
# n = 3
_AUTOCUTTER_ERROR = 0x08
_UNRECOVERABLE_ERROR = 0x20
_AUTO_RECOVERABLE_ERROR = 0x40
# n = 4
_PAPER_NEAR_END = 0x0C  # both bits on Epson; some clones (Citizen) set one per sensor
_PAPER_END = 0x20  # Epson sets 0x60; bit 5 alone is the paper end sensor on clones too


def status_request(n: int) -> bytes:
    """``DLE EOT n``: ask for status byte ``n`` (1 to 4)."""
    if n not in (PRINTER_STATUS, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR):
        raise ValueError(f"DLE EOT n takes n from 1 to 4, not {n}")
    return bytes((DLE, EOT, n))


def status_requests(which: Iterable[int] = STATUS_REQUESTS) -> bytes:
    """All requests in one string (for a link that can match replies in order)."""
    return b"".join(status_request(n) for n in which)


def is_status_byte(value: int) -> bool:
    """True when ``value`` has the fixed bits of a ``DLE EOT`` reply."""
    return 0 <= value <= 0xFF and value & _FIXED_MASK == _FIXED_VALUE


def first_status_byte(data: bytes) -> int | None:
    """The first byte in ``data`` that can be a status reply (skips XON/XOFF, noise)."""
    for value in data:
        if is_status_byte(value):
            return value
    return None


def collect_replies(
    exchange: Callable[[int], int | None], which: Iterable[int] = STATUS_REQUESTS
) -> dict[int, int | None]:
    """Ask each request in turn through ``exchange(n) -> status byte or None``.

    After the first request without a reply the rest are not asked (and are ``None``):
    a printer that stays silent would otherwise cost one reply timeout per request, and
    a late reply could be taken for the answer to the next request.
    """
    replies: dict[int, int | None] = {}
    silent = False
    for n in which:
        replies[n] = None if silent else exchange(n)
        silent = silent or replies[n] is None
    return replies


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """Every bit the printer reported, ``None`` where it did not answer that request.

    For the technician's view (``counter printer status``); the print service needs only
    :class:`PrinterStatus`.
    """

    replies: tuple[tuple[int, int | None], ...]
    online: bool | None = None
    waiting_for_recovery: bool | None = None
    feed_button_pressed: bool | None = None
    cover_open: bool | None = None
    feeding_by_button: bool | None = None
    paper_end_stop: bool | None = None
    error: bool | None = None
    autocutter_error: bool | None = None
    unrecoverable_error: bool | None = None
    auto_recoverable_error: bool | None = None
    paper_near_end: bool | None = None
    paper_end: bool | None = None

    @property
    def answered(self) -> bool:
        return any(value is not None for _, value in self.replies)


def _valid(replies: Mapping[int, int | None], n: int) -> int | None:
    value = replies.get(n)
    if value is None or not is_status_byte(value):
        return None
    return value


def _bit(value: int | None, mask: int) -> bool | None:
    return None if value is None else bool(value & mask)


def decode_replies(replies: Mapping[int, int | None]) -> StatusDetails:
    """Decode the reply bytes by request number; a reply without the fixed bits is ignored."""
    printer = _valid(replies, PRINTER_STATUS)
    offline = _valid(replies, OFFLINE_CAUSE)
    errors = _valid(replies, ERROR_CAUSE)
    paper = _valid(replies, PAPER_SENSOR)
    return StatusDetails(
        replies=tuple(
            (n, _valid(replies, n))
            for n in (PRINTER_STATUS, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR)
            if n in replies
        ),
        online=None if printer is None else not (printer & _OFFLINE),
        waiting_for_recovery=_bit(printer, _WAITING_FOR_RECOVERY),
        feed_button_pressed=_bit(printer, _FEED_BUTTON_PRESSED),
        cover_open=_bit(offline, _COVER_OPEN),
        feeding_by_button=_bit(offline, _FEEDING_BY_BUTTON),
        paper_end_stop=_bit(offline, _PAPER_END_STOP),
        error=_bit(offline, _ERROR_OCCURRED),
        autocutter_error=_bit(errors, _AUTOCUTTER_ERROR),
        unrecoverable_error=_bit(errors, _UNRECOVERABLE_ERROR),
        auto_recoverable_error=_bit(errors, _AUTO_RECOVERABLE_ERROR),
        paper_near_end=_bit(paper, _PAPER_NEAR_END),
        paper_end=_bit(paper, _PAPER_END),
    )


def _paper_state(details: StatusDetails) -> PaperState:
    if details.paper_end or details.paper_end_stop:
        return PaperState.OUT
    if details.paper_near_end:
        return PaperState.NEAR_END
    if details.paper_end is False:
        return PaperState.OK
    # Only the offline cause answered: it says printing did not stop for paper end,
    # but not whether the roll is nearly empty.
    return PaperState.UNKNOWN


def _any_error(details: StatusDetails) -> bool | None:
    flags = (
        details.error,
        details.autocutter_error,
        details.unrecoverable_error,
        details.auto_recoverable_error,
    )
    if all(flag is None for flag in flags):
        return None
    return any(flag is True for flag in flags)


def status_from_details(details: StatusDetails) -> PrinterStatus:
    if not details.answered:
        return PrinterStatus(answered=False)
    return PrinterStatus(
        answered=True,
        online=details.online,
        cover_open=details.cover_open,
        paper=_paper_state(details),
        error=_any_error(details),
    )


def parse_status(replies: Mapping[int, int | None]) -> PrinterStatus:
    """From ``{n: reply byte or None}`` to :class:`PrinterStatus`.

    No valid reply at all gives ``answered=False`` with every field unknown.
    """
    return status_from_details(decode_replies(replies))


def not_ready_reason(status: PrinterStatus) -> str:
    """Why a printer that answered cannot print, as a short English phrase."""
    reasons = []
    if status.paper is PaperState.OUT:
        reasons.append("out of paper")
    if status.cover_open:
        reasons.append("cover open")
    if status.error:
        reasons.append("in error (cutter jam or overheated head)")
    if status.online is False and not reasons:
        reasons.append("offline")
    return ", ".join(reasons) or "not ready"


# -- delivery confirmation ---------------------------------------------------------------

GS = 0x1D

#: ``GS r 1`` (hex ``1D 72 01``): "Transmit status", paper sensor status (Epson ESC/POS
#: command reference, "GS r n: Transmit status"). Unlike ``DLE EOT`` it is not a
#: real-time command: the printer processes it in order, after every byte received
#: before it, so its reply says the job in front of it was read and processed. The
#: reply byte has bit 4 and bit 7 fixed to 0, which tells it apart from a ``DLE EOT``
#: reply and from XON/XOFF (bit 4 set in all of them).
TRANSMIT_STATUS_REQUEST = bytes((GS, 0x72, 0x01))
_TRANSMIT_STATUS_FIXED_MASK = 0x90

#: ``DLE EOT 1`` as the delivery check of printers without ``GS r``. A real-time
#: command is executed when the printer reads it, so its reply says only that every byte
#: before it was read (taken off the line), not that it was printed.
REALTIME_STATUS_REQUEST = status_request(PRINTER_STATUS)

#: python-escpos profiles have no feature flag for ``GS r``; its ``starCommands`` flag
#: marks printers that speak Star's own command set (SP2000, TSP600, TUP500), where
#: ``GS r`` is not an ESC/POS command, so these are asked ``DLE EOT`` instead.
_STAR_FEATURE = "starCommands"


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """The status request sent after a job's bytes, and how its reply is recognised.

    A job on a connection that can answer counts as delivered only when the reply to
    this request arrives: a printer that accepts the bytes and never reads them, or reads
    them and stalls, gives no reply.
    """

    request: bytes

    def is_reply(self, value: int) -> bool:
        if self.request == TRANSMIT_STATUS_REQUEST:
            return 0 <= value <= 0xFF and value & _TRANSMIT_STATUS_FIXED_MASK == 0
        return is_status_byte(value)

    def first_reply(self, data: bytes) -> int | None:
        """The first byte in ``data`` that answers the request."""
        for value in data:
            if self.is_reply(value):
                return value
        return None


TRANSMIT_STATUS_CHECK = DeliveryCheck(TRANSMIT_STATUS_REQUEST)
REALTIME_STATUS_CHECK = DeliveryCheck(REALTIME_STATUS_REQUEST)


def delivery_check_for_profile(profile_name: str) -> DeliveryCheck:
    """``GS r 1`` for ESC/POS printers; ``DLE EOT 1`` for profiles with Star commands."""
    from escpos.capabilities import CAPABILITIES, get_profile

    profiles: dict[str, Any] = CAPABILITIES["profiles"]
    if profile_name not in profiles:
        return TRANSMIT_STATUS_CHECK
    features: dict[str, Any] = get_profile(profile_name).features
    if features.get(_STAR_FEATURE):
        return REALTIME_STATUS_CHECK
    return TRANSMIT_STATUS_CHECK

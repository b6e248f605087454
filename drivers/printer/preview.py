"""Show a print job on screen, and the ``preview`` connection that stores jobs as files.

:func:`render_preview` turns a :class:`~drivers.printer.decode.DecodedDocument`
into plain-text lines, one per printed line, each exactly ``columns`` characters
wide (alignment applied; only a QR code wider than the paper is wider). Styles
are carried as data so a UI can show them:

* double-width characters are spread out (``H e r g e b r u i k``) so the line
  takes as many columns as on paper; double height is kept in ``height_mult``;
* bold, underline and inverse are flags on each span;
* a QR code is drawn with half-block characters, two module rows per text row:
  ``█`` both dark, ``▀`` upper dark, ``▄`` lower dark, space both light. The
  characters are the *dark* modules, so QR lines (``kind == "qr"``) must be shown
  as a dark foreground on a light background (black on white) to be scannable
  off the screen; ``PreviewLine.dark_on_light`` says so.
* a barcode is shown as its data in brackets, a cut as a dashed line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import qrcode
import qrcode.constants

from drivers.printer.connection import PrinterConnection, PrinterFault, PrinterUnavailable
from drivers.printer.decode import (
    Align,
    DecodedBarcode,
    DecodedCut,
    DecodedDocument,
    DecodedLine,
    DecodedQRCode,
    DecodedSpan,
    decode_escpos,
)
from drivers.printer.file import unavailable

PreviewKind = Literal["text", "qr", "barcode", "cut"]

#: Light modules around the QR code in the preview (its quiet zone).
QR_PREVIEW_BORDER = 2

_QR_ERROR_CORRECTION = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}

#: (upper module dark, lower module dark) -> character.
_HALF_BLOCKS = {
    (True, True): "█",
    (True, False): "▀",
    (False, True): "▄",
    (False, False): " ",
}

_CUT_LINE_CHAR = "╌"
_SCISSORS = "✂"


@dataclass(frozen=True, slots=True)
class PreviewSpan:
    """Part of a preview line in one style; padding spans have no style."""

    text: str
    bold: bool = False
    underline: bool = False
    inverted: bool = False
    width_mult: int = 1
    height_mult: int = 1


@dataclass(frozen=True, slots=True)
class PreviewLine:
    """One line of the on-screen label. ``text`` is the spans joined."""

    text: str
    kind: PreviewKind = "text"
    spans: tuple[PreviewSpan, ...] = ()
    height_mult: int = 1
    align: Align = "left"
    #: True for QR lines: draw the characters dark on a light background.
    dark_on_light: bool = False


def _spread(text: str, width_mult: int) -> str:
    """Double-width text as it takes room on paper: each character then spaces."""
    if width_mult <= 1:
        return text
    return "".join(char + " " * (width_mult - 1) for char in text)


def _padding(width: int, columns: int, align: Align) -> tuple[int, int]:
    free = max(0, columns - width)
    if align == "center":
        left = free // 2
    elif align == "right":
        left = free
    else:
        left = 0
    return left, free - left


def _padded(
    spans: list[PreviewSpan],
    columns: int,
    align: Align,
    kind: PreviewKind,
    *,
    dark_on_light: bool = False,
) -> PreviewLine:
    width = sum(len(span.text) for span in spans)
    left, right = _padding(width, columns, align)
    full = ([PreviewSpan(" " * left)] if left else []) + spans
    if right:
        full.append(PreviewSpan(" " * right))
    height = max((span.height_mult for span in spans), default=1)
    return PreviewLine(
        text="".join(span.text for span in full),
        kind=kind,
        spans=tuple(full),
        height_mult=height,
        align=align,
        dark_on_light=dark_on_light,
    )


def _text_line(line: DecodedLine, columns: int) -> PreviewLine:
    source = line.spans or (
        DecodedSpan(
            text=line.text,
            width_mult=line.width_mult,
            height_mult=line.height_mult,
            bold=line.bold,
            underline=line.underline,
            inverted=line.inverted,
        ),
    )
    spans = [
        PreviewSpan(
            text=_spread(span.text, span.width_mult),
            bold=span.bold,
            underline=span.underline,
            inverted=span.inverted,
            width_mult=span.width_mult,
            height_mult=span.height_mult,
        )
        for span in source
    ]
    if not line.text:
        return PreviewLine(text=" " * columns, height_mult=line.height_mult, align=line.align)
    return _padded(spans, columns, line.align, "text")


def qr_matrix(payload: str, error_correction: str = "M") -> list[list[bool]]:
    """The QR modules for ``payload`` (True = dark), with the preview's light border."""
    code = qrcode.QRCode(
        error_correction=_QR_ERROR_CORRECTION.get(
            error_correction, qrcode.constants.ERROR_CORRECT_M
        ),
        border=QR_PREVIEW_BORDER,
    )
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


def qr_block_rows(matrix: list[list[bool]]) -> list[str]:
    """``matrix`` as half-block text, two module rows per text row."""
    rows: list[str] = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [False] * len(upper)
        rows.append("".join(_HALF_BLOCKS[(a, b)] for a, b in zip(upper, lower, strict=True)))
    return rows


def _qr_lines(code: DecodedQRCode, columns: int) -> list[PreviewLine]:
    rows = qr_block_rows(qr_matrix(code.payload, code.error_correction))
    return [
        _padded([PreviewSpan(row)], columns, code.align, "qr", dark_on_light=True) for row in rows
    ]


def _barcode_line(barcode: DecodedBarcode, columns: int) -> PreviewLine:
    text = f"[{barcode.data}]"
    return _padded([PreviewSpan(text)], columns, barcode.align, "barcode")


def _cut_line(columns: int) -> PreviewLine:
    text = (_SCISSORS + _CUT_LINE_CHAR * (columns - 1))[:columns]
    return PreviewLine(text=text, kind="cut", spans=(PreviewSpan(text),))


def render_preview(doc: DecodedDocument, columns: int) -> list[PreviewLine]:
    """The document as it would look on paper ``columns`` characters wide."""
    lines: list[PreviewLine] = []
    for element in doc.elements:
        if isinstance(element, DecodedLine):
            lines.append(_text_line(element, columns))
        elif isinstance(element, DecodedQRCode):
            lines.extend(_qr_lines(element, columns))
        elif isinstance(element, DecodedBarcode):
            lines.append(_barcode_line(element, columns))
        elif isinstance(element, DecodedCut):
            lines.append(_cut_line(columns))
    return lines


def preview_escpos(data: bytes, columns: int, profile: str = "default") -> list[PreviewLine]:
    """Decode ``data`` for paper ``columns`` wide and render it (see :func:`render_preview`)."""
    return render_preview(decode_escpos(data, columns=columns, profile=profile), columns)


def preview_text(lines: list[PreviewLine]) -> str:
    """The preview as plain text, one line per row (for a terminal or a log)."""
    return "\n".join(line.text for line in lines)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PreviewConnection(PrinterConnection):
    """Stores jobs in files instead of printing them: in one file, or one file per job.

    ``path`` is what ``[printer] path`` names (DESIGN.md section 4: "output file or
    device"):

    * a file: a path with a suffix (``/tmp/x/label.escpos``) or anything that exists
      and is not a folder (a regular file, a device). Every job is appended to that
      one file as a whole: written with one append, flushed to disk (``fsync``)
      before ``send`` returns, and taken out of the file again (truncated) if it
      could not be written completely. Missing parent folders are created.
    * a folder: an existing folder, or a path without a suffix (created when
      missing). Each job becomes a file of its own, named after the time it was
      sent, in UTC, and a counter for jobs sent within the same microsecond, so they
      sort in the order they were sent: ``20240503T120501123456Z-000.escpos``. Each
      file is written under a temporary name, fsynced and then renamed, so a reader
      never sees half a job.

    Which of the two is decided at each ``send`` (a folder created meanwhile is a
    folder). ``last_path`` is where this connection wrote its newest job.
    """

    kind = "preview"
    suffix = ".escpos"

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self.last_path: Path | None = None
        self._clock = clock

    def describe(self) -> str:
        return f"preview {self.path}"

    @property
    def single_file(self) -> bool:
        """True when ``path`` names one file that collects every job (see the class)."""
        if self.path.is_dir():
            return False
        return bool(self.path.suffix) or self.path.exists()

    def send(self, data: bytes) -> None:
        """Store the job (see the class) or raise :class:`PrinterUnavailable`."""
        if self.single_file:
            self._append(data)
        else:
            self._write_job_file(data)

    def _create_folder(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise unavailable(
                folder, error, device=False, action="create the preview folder"
            ) from error

    def _append(self, data: bytes) -> None:
        target = self.path
        if target.exists() and not target.is_file():
            # A device or pipe cannot take a job back out after a half write, and
            # fsync fails on it: every job would come out again as a duplicate.
            raise PrinterUnavailable(
                f"{target} is not a regular file: the preview printer writes files; "
                'for a device use connection = "file"',
                fault=PrinterFault.WRONG_PATH,
                where=str(target),
            )
        self._create_folder(target.parent)
        try:
            fd = os.open(
                target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
            )
        except OSError as error:
            raise unavailable(target, error, device=False) from error
        start: int | None = None
        try:
            # One append puts the whole job after whatever is in the file, even when
            # another program appends at the same time (POSIX O_APPEND).
            written = os.write(fd, data)
            start = os.lseek(fd, 0, os.SEEK_CUR) - written
            view = memoryview(data)[written:]
            while view:  # a short write (a nearly full disk): the rest follows
                done = os.write(fd, view)
                view = view[done:]
            os.fsync(fd)
        except OSError as error:
            # Take the partial job out again, so the file holds only whole jobs.
            uncertain = False
            if start is not None:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    uncertain = True
            raise unavailable(target, error, device=False, uncertain=uncertain) from error
        finally:
            os.close(fd)
        self.last_path = target

    def _write_job_file(self, data: bytes) -> None:
        self._create_folder(self.path)
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        counter = 0
        target = self.path / f"{stamp}-{counter:03d}{self.suffix}"
        while target.exists():
            counter += 1
            target = self.path / f"{stamp}-{counter:03d}{self.suffix}"
        temporary = self.path / f".{target.name}.tmp"
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise unavailable(target, error, device=False) from error
        self.last_path = target

    def jobs(self) -> list[Path]:
        """Stored job files, oldest first; empty when there are none.

        With a single file (see the class) that one file, once it exists: its jobs
        follow each other in it.
        """
        if self.single_file:
            return [self.path] if self.path.exists() else []
        try:
            names = [
                p
                for p in self.path.iterdir()
                if p.name.endswith(self.suffix) and not p.name.startswith(".")
            ]
        except OSError:
            return []
        return sorted(names)
